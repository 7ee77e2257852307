"""The house rules that a reader relies on: no import circles (function-local imports count),
dependencies point one way (layers below never import layers above), nothing below the
command layer prints or exits, no module over 400 lines, the exporter is ``fomm_tf.export``
(no top-level ``export``), every package ships."""

from __future__ import annotations

import ast
import configparser
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = {"fomm_tf": ROOT / "fomm_tf"}


def _modules() -> dict[str, Path]:
    mods = {}
    for pkg, base in PACKAGES.items():
        for f in base.rglob("*.py"):
            parts = [pkg, *f.relative_to(base).with_suffix("").parts]
            if parts[-1] == "__init__":
                parts = parts[:-1]
            mods[".".join(parts)] = f
    return mods


def _imports(name: str, path: Path, mods: dict) -> set[str]:
    """Every module of ours that ``name`` imports, anywhere in the file."""
    package = name.split(".") if path.name == "__init__.py" else name.split(".")[:-1]
    out = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            out |= {a.name for a in node.names if a.name in mods}
        elif isinstance(node, ast.ImportFrom):
            base = package[: len(package) - node.level + 1] if node.level else []
            target = ".".join(base + ([node.module] if node.module else []))
            for alias in node.names:
                full = f"{target}.{alias.name}"
                out.add(full if full in mods else target)
    return (out & set(mods)) - {name}


def import_cycles() -> list[list[str]]:
    """Strongly connected components (size > 1) of the module import graph (Tarjan)."""
    mods = _modules()
    graph = {m: _imports(m, f, mods) for m, f in mods.items()}
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    cycles = []

    def visit(v):
        index[v] = low[v] = len(index)
        stack.append(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                cycles.append(sorted(comp))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return cycles


def test_no_import_cycles():
    assert import_cycles() == []


def test_the_cycle_finder_finds_a_cycle(tmp_path, monkeypatch):
    pkg = tmp_path / "pkg"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "a.py").write_text("def f():\n    from .b import g\n")
    (pkg / "b.py").write_text("from pkg import a\n")
    monkeypatch.setitem(PACKAGES, "pkg", pkg)
    assert ["pkg.a", "pkg.b"] in import_cycles()


def test_the_exporter_installs_as_fomm_tf_export_only(tmp_path):
    code = (
        "import importlib.util as u, fomm_tf.export.contract\n"
        "print(u.find_spec('export') is None, fomm_tf.export.contract.__name__)"
    )
    res = subprocess.run(
        [sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, timeout=300
    )
    assert res.returncode == 0, res.stderr[-2000:]
    assert res.stdout.split() == ["True", "fomm_tf.export.contract"]


def test_setup_cfg_ships_every_package():
    cfg = configparser.ConfigParser()
    cfg.read(ROOT / "setup.cfg")
    listed = set(cfg["options"]["packages"].split())
    packages = {m for m, f in _modules().items() if f.name == "__init__.py"}
    assert listed == packages


# Layers, lowest first: a module may import its own layer and the ones below, never above.
LAYERS = [
    {"fomm_tf", "errors", "config", "litert", "native_log", "bundled"},
    {"media"},
    {"nets"},
    {"losses", "data"},
    {"animation"},
    {"export", "eval", "evaluate", "training", "demo", "bench"},
    {"apps", "commands"},  # the command layer (and the apps' test harness)
    {"cli"},
]
# The one upward edge: the TFLite backend reads the export's contract (the format it runs).
UPWARD_OK = {("fomm_tf.animation.tflite_backend", "fomm_tf.export.contract")}
# Below the command layer only ``python -m`` tools print or exit, in their ``main``.
SCRIPT_MAINS = {"fomm_tf.apps.web", "fomm_tf.eval.train_detector"}
MAX_LINES = 400


def _layer(module: str) -> int:
    top = module.split(".")[1] if "." in module else "fomm_tf"
    return next(i for i, names in enumerate(LAYERS) if top in names)


def upward_imports() -> list[tuple[str, str]]:
    mods = _modules()
    return sorted(
        (m, d)
        for m, f in mods.items()
        for d in _imports(m, f, mods)
        if _layer(d) > _layer(m) and (m, d) not in UPWARD_OK
    )


def test_dependencies_point_one_way():
    assert upward_imports() == []


def test_every_package_has_a_layer():
    for module in _modules():
        _layer(module)  # StopIteration: a new top-level module needs a place in LAYERS


def test_the_layer_check_finds_an_upward_import(monkeypatch):
    real = _imports

    def with_upward(name, path, mods):
        out = real(name, path, mods)
        return out | {"fomm_tf.cli"} if name == "fomm_tf.nets.models" else out

    monkeypatch.setattr(sys.modules[__name__], "_imports", with_upward)
    assert ("fomm_tf.nets.models", "fomm_tf.cli") in upward_imports()


def _prints_or_exits(path: Path, module: str) -> list[str]:
    found = []
    tree = ast.parse(path.read_text())
    skip: set[int] = set()
    if module in SCRIPT_MAINS:
        for node in tree.body:
            if isinstance(node, ast.FunctionDef) and node.name == "main":
                skip |= {id(n) for n in ast.walk(node)}
            if isinstance(node, ast.If):  # if __name__ == "__main__": ...
                skip |= {id(n) for n in ast.walk(node)}
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call) or id(node) in skip:
            continue
        fn = node.func
        name = fn.id if isinstance(fn, ast.Name) else None
        attr = (
            f"{fn.value.id}.{fn.attr}"
            if isinstance(fn, ast.Attribute) and isinstance(fn.value, ast.Name)
            else None
        )
        if name in ("print", "exit", "quit") or attr in ("sys.exit", "os._exit"):
            found.append(f"{module}:{node.lineno}")
    return found


def test_nothing_below_the_command_layer_prints_or_exits():
    command_layer = _layer("fomm_tf.commands")
    found = [
        hit
        for m, f in _modules().items()
        if _layer(m) < command_layer
        for hit in _prints_or_exits(f, m)
    ]
    assert found == []


def test_the_print_check_finds_a_print(tmp_path):
    f = tmp_path / "m.py"
    f.write_text("import os, sys\ndef f():\n    print('x')\n    os._exit(1)\n")
    assert _prints_or_exits(f, "fomm_tf.nets.m") == ["fomm_tf.nets.m:3", "fomm_tf.nets.m:4"]


def test_no_test_file_imports_another():
    """Shared test code lives in tests/helpers.py and tests/conftest.py."""
    tests = ROOT / "tests"
    test_modules = {f.stem for f in tests.glob("test_*.py")}
    found = []
    for f in sorted(tests.glob("*.py")):
        for node in ast.walk(ast.parse(f.read_text())):
            names = (
                [a.name for a in node.names]
                if isinstance(node, ast.Import)
                else [node.module]
                if isinstance(node, ast.ImportFrom) and not node.level
                else []
            )
            found += [f"{f.name}: {n}" for n in names if n in test_modules]
    assert found == []


def test_no_module_over_400_lines():
    long = {
        m: n for m, f in _modules().items() if (n := len(f.read_text().splitlines())) > MAX_LINES
    }
    assert long == {}
