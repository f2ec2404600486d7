"""The image's build stage needs no compiler: every package it installs from uv.lock has a
wheel for the image's Python on Linux (glibc), for amd64 and arm64 alike."""

from __future__ import annotations

import re
import tomllib
from typing import Any

import pytest
from deploy_facts import DEPLOY, ROOT
from packaging.markers import Marker
from packaging.utils import parse_wheel_filename

SERVICES = ("parley-gateway", "parley-chat", "parley-namer", "parley-tagger")


def image_python() -> tuple[int, int]:
    """The Python version of the Containerfile's base image (``ARG PYTHON_IMAGE``)."""
    text = (DEPLOY / "Containerfile").read_text()
    major, minor = re.search(r"ARG PYTHON_IMAGE=python:(\d+)\.(\d+)", text).groups()  # type: ignore[union-attr]
    return int(major), int(minor)


def image_packages(lock: dict[str, Any], python: tuple[int, int], arch: str) -> dict[str, Any]:
    """The locked packages the image installs: the four services' dependency closure on Linux,
    without the ones the Containerfile leaves out."""
    text = (DEPLOY / "Containerfile").read_text()
    skipped = set(re.findall(r"--no-install-package (\S+)", text))
    packages = {p["name"]: p for p in lock["package"]}
    env = {
        "sys_platform": "linux",
        "platform_system": "Linux",
        "platform_machine": arch,
        "python_version": f"{python[0]}.{python[1]}",
        "python_full_version": f"{python[0]}.{python[1]}.0",
        "implementation_name": "cpython",
        "platform_python_implementation": "CPython",
        "os_name": "posix",
        "extra": "",
    }
    found: dict[str, Any] = {}
    todo = [(name, ()) for name in SERVICES]
    while todo:
        name, extras = todo.pop()
        if name in skipped:
            continue
        package = packages[name]
        deps = list(package.get("dependencies", []))
        for extra in extras:
            deps += package.get("optional-dependencies", {}).get(extra, [])
        if name in found and not extras:
            continue
        found[name] = package
        for dep in deps:
            if "marker" in dep and not Marker(dep["marker"]).evaluate(env):
                continue
            todo.append((dep["name"], tuple(dep.get("extra", ()))))
    return found


def has_wheel(package: dict[str, Any], python: tuple[int, int], arch: str) -> bool:
    """Whether one of the package's wheels installs on CPython ``python``, glibc Linux ``arch``."""
    cp = f"cp{python[0]}{python[1]}"
    for wheel in package.get("wheels", []):
        _, _, _, tags = parse_wheel_filename(wheel["url"].rsplit("/", 1)[1])
        for tag in tags:
            python_ok = tag.interpreter in {"py3", f"py{python[0]}", cp} or (
                tag.abi == "abi3"
                and tag.interpreter.startswith("cp3")
                and int(tag.interpreter[3:]) <= python[1]
            )
            platform_ok = tag.platform == "any" or (
                tag.platform.startswith("manylinux") and tag.platform.endswith(arch)
            )
            if python_ok and tag.abi in {"none", "abi3", cp} and platform_ok:
                return True
    return False


@pytest.mark.parametrize("arch", ["x86_64", "aarch64"])
def test_every_package_of_the_image_installs_from_a_wheel(arch: str) -> None:
    lock = tomllib.loads((ROOT / "uv.lock").read_text())
    python = image_python()
    packages = image_packages(lock, python, arch)
    assert {"fastapi", "asyncpg", "nats-py", "yoyo-migrations"} <= set(packages)
    assert "pgserver" not in packages and "pytest" not in packages
    missing = [
        name
        for name, package in packages.items()
        if package.get("source", {}).get("registry") and not has_wheel(package, python, arch)
    ]
    assert missing == [], f"no {arch} wheel for Python {python}: {missing}"


def test_a_package_with_only_an_sdist_is_caught() -> None:
    sdist_only = {"name": "x", "sdist": {"url": "https://files/x-1.tar.gz"}, "wheels": []}
    assert not has_wheel(sdist_only, (3, 12), "x86_64")
    other_python = {"wheels": [{"url": "https://files/x-1-cp311-cp311-manylinux_2_17_x86_64.whl"}]}
    assert not has_wheel(other_python, (3, 12), "x86_64")
    assert has_wheel(other_python, (3, 11), "x86_64")
