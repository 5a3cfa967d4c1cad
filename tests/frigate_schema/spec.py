"""A small validation vocabulary that mirrors how Frigate's pydantic config models judge a value.

Each spec walks one value and appends ``"<dotted.path>: <message>"`` lines, worded as pydantic 2 words them in
Frigate's "Config Validation Errors" output (``cameras.cam1.record.retain: Extra inputs are not permitted``).
The specs are deliberately a little stricter than pydantic's lax mode in one respect: booleans, integers and
numbers must already have their YAML type (pydantic would also take ``"true"`` or ``"5"``); a rendered config that
relies on such coercion is a defect of ours, so rejecting it is the useful answer.
"""

import re

MISSING = object()


def join(path, key):
    return f"{path}.{key}" if path else str(key)


def report(errors, path, message):
    errors.append(f"{path or '<root>'}: {message}")


def _quote_choices(values):
    quoted = [f"'{value}'" for value in values]
    return quoted[0] if len(quoted) == 1 else ", ".join(quoted[:-1]) + " or " + quoted[-1]


class Spec:
    """One field's rule. ``env`` marks an ``EnvString`` field: Frigate substitutes ``{FRIGATE_*}`` in it."""

    env = False
    label = "a valid value"

    def validate(self, value, path, errors, visit):
        raise NotImplementedError


class AnyValue(Spec):
    """A field whose content this checker does not model (listed as not covered in README.md)."""

    def validate(self, value, path, errors, visit):
        visit(self, value, path)


class Bool(Spec):
    label = "a valid boolean"

    def validate(self, value, path, errors, visit):
        if not isinstance(value, bool):
            report(errors, path, "Input should be a valid boolean")


class _Number(Spec):
    kinds = (int, float)
    word = "number"

    def __init__(self, ge=None, gt=None, le=None, lt=None):
        self.bounds = (ge, gt, le, lt)

    def validate(self, value, path, errors, visit):
        if isinstance(value, bool) or not isinstance(value, self.kinds) or (
                self.word == "integer" and isinstance(value, float) and not value.is_integer()):
            report(errors, path, f"Input should be a valid {self.word}")
            return
        ge, gt, le, lt = self.bounds
        if ge is not None and value < ge:
            report(errors, path, f"Input should be greater than or equal to {ge}")
        if gt is not None and value <= gt:
            report(errors, path, f"Input should be greater than {gt}")
        if le is not None and value > le:
            report(errors, path, f"Input should be less than or equal to {le}")
        if lt is not None and value >= lt:
            report(errors, path, f"Input should be less than {lt}")


class Int(_Number):
    label = "a valid integer"
    word = "integer"


class Float(_Number):
    label = "a valid number"


class Str(Spec):
    label = "a valid string"

    def __init__(self, pattern=None, env=False):
        self.pattern = pattern
        self.env = env

    def validate(self, value, path, errors, visit):
        if not isinstance(value, str):
            report(errors, path, "Input should be a valid string")
            return
        if self.pattern and not re.search(self.pattern, value):
            report(errors, path, f"String should match pattern '{self.pattern}'")
        visit(self, value, path)


class Enum(Spec):
    def __init__(self, *values):
        self.values = values
        self.label = _quote_choices(values)

    def validate(self, value, path, errors, visit):
        if value not in self.values or isinstance(value, bool):
            report(errors, path, f"Input should be {self.label}")


class Nullable(Spec):
    """``Optional[X]``: ``None`` (YAML ``null`` or an empty value) is accepted."""

    def __init__(self, inner):
        self.inner = inner
        self.env = inner.env
        self.label = inner.label

    def validate(self, value, path, errors, visit):
        if value is not None:
            self.inner.validate(value, path, errors, visit)


class OneOf(Spec):
    """``Union[A, B]``: the value must satisfy one member."""

    def __init__(self, *members):
        self.members = members
        self.env = any(member.env for member in members)
        self.label = " or ".join(member.label for member in members)

    def validate(self, value, path, errors, visit):
        for member in self.members:
            trial = []
            member.validate(value, path, trial, lambda *args: None)
            if not trial:
                member.validate(value, path, errors, visit)
                return
        report(errors, path, f"Input should be {self.label}")


class List(Spec):
    label = "a valid list"

    def __init__(self, item):
        self.item = item

    def validate(self, value, path, errors, visit):
        if not isinstance(value, list):
            report(errors, path, "Input should be a valid list")
            return
        for index, item in enumerate(value):
            self.item.validate(item, join(path, index), errors, visit)


class Dict(Spec):
    label = "a valid dictionary"

    def __init__(self, value_spec, key_spec=None):
        self.value_spec = value_spec
        self.key_spec = key_spec or Str()

    def validate(self, value, path, errors, visit):
        if not isinstance(value, dict):
            report(errors, path, "Input should be a valid dictionary")
            return
        for key, item in value.items():
            key_errors = []
            self.key_spec.validate(key, join(path, key), key_errors, lambda *args: None)
            if key_errors:
                report(errors, join(path, f"{key}.[key]"), key_errors[0].split(": ", 1)[1])
            self.value_spec.validate(item, join(path, key), errors, visit)


class Model(Spec):
    """A pydantic model. ``extra``: ``forbid`` (FrigateBaseModel), ``ignore`` (plain BaseModel) or ``allow``.

    ``required`` names the fields without a default. ``checks`` are the model's own validators, run (as pydantic
    runs ``mode="after"`` validators) only when every field passed: ``check(value, path, errors)``.
    """

    label = "a valid dictionary"

    def __init__(self, fields, required=(), extra="forbid", checks=(), name=""):
        self.fields = dict(fields)
        self.required = tuple(required)
        self.extra = extra
        self.checks = tuple(checks)
        self.name = name

    def derive(self, add=None, remove=(), required=None, checks=None, extra=None):
        """The same model as another release has it: fields added, replaced or removed."""
        fields = {key: spec for key, spec in self.fields.items() if key not in remove}
        fields.update(add or {})
        return Model(fields, self.required if required is None else required,
                     self.extra if extra is None else extra,
                     self.checks if checks is None else checks, self.name)

    def validate(self, value, path, errors, visit):
        if not isinstance(value, dict):
            report(errors, path, "Input should be a valid dictionary or instance of " + (self.name or "the model"))
            return
        before = len(errors)
        for key in self.required:
            if key not in value:
                report(errors, join(path, key), "Field required")
        for key, item in value.items():
            spec = self.fields.get(key)
            if spec is None:
                if self.extra == "forbid":
                    report(errors, join(path, key), "Extra inputs are not permitted")
                continue
            spec.validate(item, join(path, key), errors, visit)
        if len(errors) == before:
            for check in self.checks:
                check(value, path, errors)


class Tagged(Spec):
    """A discriminated union: ``value[tag]`` picks the model (Frigate's detector configs, ``type``)."""

    label = "a valid dictionary"

    def __init__(self, tag, choices, default=None):
        self.tag = tag
        self.choices = dict(choices)
        self.default = default

    def validate(self, value, path, errors, visit):
        if not isinstance(value, dict):
            report(errors, path, "Input should be a valid dictionary")
            return
        chosen = value.get(self.tag, self.default)
        if chosen not in self.choices:
            expected = ", ".join(f"'{key}'" for key in self.choices)
            report(errors, join(path, self.tag),
                   f"Input tag '{chosen}' found using '{self.tag}' does not match any of the expected tags: {expected}")
            return
        self.choices[chosen].validate(value, path, errors, visit)
