# The two commands a plant engineer needs (README): `make lab` and `make test`.
SHELL := /bin/bash
.DEFAULT_GOAL := help
VENV ?= .venv

.PHONY: help lab test lint sanity unit pytest molecule bench build clean-lab ee

help:
	@echo "make lab    - set up this machine (venv, Docker engine, lab images) and roll out the lab (site.yml)"
	@echo "make test   - every test: lint, ansible-test sanity, build, benchmarks, then molecule alongside pytest"
	@echo "make ee     - build the AWX / Automation Platform execution environment ming/ee:<version> (docs/awx.md)"

lab:
	bash scripts/lab.sh

test:
	bash scripts/run-tests.sh

lint:
	bash scripts/run-tests.sh lint

sanity:
	bash scripts/run-tests.sh sanity

# The unit tests alone need neither Docker nor Debian test packages.
unit:
	bash scripts/bootstrap-venv.sh
	ANSIBLE_COLLECTIONS_PATH=$(CURDIR)/.collections $(VENV)/bin/pytest tests/unit

pytest:
	bash scripts/run-tests.sh pytest

molecule:
	bash scripts/run-tests.sh molecule

bench:
	bash scripts/run-tests.sh bench

build:
	bash scripts/run-tests.sh build

clean-lab:
	bash scripts/lab.sh stop

# The AWX / Automation Platform execution environment ming/ee:<version> (docs/awx.md); needs ming/debian-base:bookworm.
ee:
	bash scripts/bootstrap-venv.sh
	bash scripts/build-ee.sh
