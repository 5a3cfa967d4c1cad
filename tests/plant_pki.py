"""A plant PKI stand-in for the tests that give a role its TLS material as files (``<role>_tls_source: files``): a CA
and server certificates signed by it, made with the cryptography library and written as PEM files the way a plant
PKI hands them out (``ca.crt``, ``server.crt``, ``server.key``, each 0600; the CA's key stays in memory)."""

import datetime
import ipaddress

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

CA_NAME = "Plant test CA"


def _subject_alternative_name(name):
    try:
        return x509.IPAddress(ipaddress.ip_address(name))
    except ValueError:
        return x509.DNSName(name)


class PlantPki:
    """A CA written to ``directory/ca.crt``; ``issue_server()`` writes a new server key and certificate for
    ``names`` (DNS names or IP addresses, the first is the common name)."""

    def __init__(self, directory, names=("localhost", "127.0.0.1")):
        self.directory = directory
        self.names = list(names)
        self.ca_key = ec.generate_private_key(ec.SECP256R1())
        self.ca_cert = self._certificate(CA_NAME, self.ca_key.public_key(), ca=True)
        self._write("ca.crt", self._pem(self.ca_cert))

    def _certificate(self, common_name, public_key, ca=False):
        now = datetime.datetime.now(datetime.UTC)
        builder = (
            x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)]))
            .issuer_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, CA_NAME)]))
            .public_key(public_key)
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(hours=1))
            .not_valid_after(now + datetime.timedelta(days=365))
            .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
        )
        if not ca:
            builder = builder.add_extension(
                x509.SubjectAlternativeName([_subject_alternative_name(name) for name in self.names]), critical=False)
        return builder.sign(self.ca_key, hashes.SHA256())

    @staticmethod
    def _pem(cert):
        return cert.public_bytes(serialization.Encoding.PEM)

    def _write(self, name, data):
        path = self.directory / name
        path.write_bytes(data)
        path.chmod(0o600)
        return path

    def issue_server(self):
        """A new key and certificate (first issue or renewal); returns the certificate's serial."""
        key = ec.generate_private_key(ec.SECP256R1())
        cert = self._certificate(self.names[0], key.public_key())
        self._write("server.key", key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                                    serialization.NoEncryption()))
        self._write("server.crt", self._pem(cert))
        return cert.serial_number
