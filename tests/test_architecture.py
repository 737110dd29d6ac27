"""The layering of docs/ARCHITECTURE.md, checked on the code's own imports.

* the library's import graph has no cycle;
* a module imports only from its own layer or a lower one;
* function-local imports only for optional dependencies;
* every neuron model (a module with ``simulate``) lives in the neuron layer;
* no learning rule overrides the training step template.
"""

from __future__ import annotations

import ast
import inspect
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1] / "snnlab"

# docs/ARCHITECTURE.md, "Layers": top-level module (or package) -> layer
LAYERS = {
    "_checks": 0, "surrogate": 0, "_native": 0, "_triton_lif": 0, "spikemm": 0, "_optim": 0,
    "spikeconv": 0,
    "_malloc": 0,
    "distributed": 0,
    "functional": 1, "neurons": 1, "encoding": 1, "data": 1,
    "readouts": 2, "models": 2, "zoo": 2, "metrics": 2,
    "rules": 3, "teacher": 3, "conversion": 3,
    "train": 4,
    "hardware": 5, "nir": 5, "compare": 5, "claims": 5, "reproduce": 5,
    "plot": 6,
    "course": 7, "exercises": 7, "widgets": 7,
    "cli": 8, "nbtools": 8, "__main__": 8, "__init__": 8,
    "export": 5,  # the face of nir/
}
OPTIONAL = {"ipywidgets", "IPython", "nir", "nirtorch", "norse", "snntorch", "triton",
            "torchvision", "tonic", "spikingjelly", "papermill", "nbformat", "jupytext",
            "nbclient", "playwright", "jupyter_client",
            # the lazy attributes of snnlab/__init__.py
            "importlib",
            # pyplot is loaded on the first figure so that `import snnlab` stays fast
            "matplotlib"}


def _modules():
    for path in sorted(ROOT.rglob("*.py")):
        rel = path.relative_to(ROOT.parent).with_suffix("")
        parts = list(rel.parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        yield ".".join(parts), path


def _resolve(modname: str, is_pkg: bool, node: ast.ImportFrom, mods) -> list[str]:
    """The snnlab modules ``from X import a, b`` reads: ``X.a`` where that is a module, else X."""
    if node.level == 0:
        base = node.module or ""
    else:
        pkg = modname.split(".") if is_pkg else modname.split(".")[:-1]
        pkg = pkg[: len(pkg) - (node.level - 1)]
        base = ".".join(pkg + ([node.module] if node.module else []))
    if not base.startswith("snnlab"):
        return []
    return [f"{base}.{a.name}" if f"{base}.{a.name}" in mods else base for a in node.names]


def _graph():
    mods = dict(_modules())
    edges: dict[str, set[str]] = {m: set() for m in mods}
    local: dict[str, list[str]] = {}
    for mod, path in mods.items():
        tree = ast.parse(path.read_text())
        is_pkg = path.name == "__init__.py"
        in_func = set()
        for node in ast.walk(tree):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                for sub in ast.walk(node):
                    if isinstance(sub, (ast.Import, ast.ImportFrom)):
                        in_func.add(id(sub))
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom):
                targets = _resolve(mod, is_pkg, node, mods)
                top = (node.module or "").split(".")[0] if node.level == 0 else "snnlab"
            elif isinstance(node, ast.Import):
                targets = [a.name for a in node.names if a.name.startswith("snnlab")]
                top = node.names[0].name.split(".")[0]
            else:
                continue
            if id(node) in in_func:
                if top not in OPTIONAL and not (mod == "snnlab" and top == "snnlab"):
                    local.setdefault(mod, []).append(f"line {node.lineno}: {ast.unparse(node)}")
                continue  # lazy imports of optional parts are not edges of the static graph
            for t in targets:
                while t and t not in mods:
                    t = t.rpartition(".")[0]
                if t and t != mod:
                    edges[mod].add(t)
    return mods, edges, local


def _layer(mod: str) -> int:
    parts = mod.split(".")
    key = parts[1] if len(parts) > 1 else "__init__"
    return LAYERS[key]


def test_every_module_has_a_layer():
    mods, _, _ = _graph()
    missing = sorted({m.split(".")[1] for m in mods if "." in m} - set(LAYERS))
    assert not missing, f"add these to docs/ARCHITECTURE.md and LAYERS: {missing}"


def test_import_graph_has_no_cycle():
    mods, edges, _ = _graph()
    # a package's __init__ re-exporting its own submodules is not a cycle of ideas
    def deps(m):
        return {t for t in edges[m] if not (t.startswith(m + ".") or m.startswith(t + ".")
                                            and t != "snnlab")}

    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(m):
        state[m] = 1
        stack.append(m)
        for t in deps(m):
            if t == "snnlab":
                continue
            if state.get(t) == 1:
                cyc = stack[stack.index(t):] + [t]
                pytest.fail("import cycle: " + " -> ".join(cyc))
            if state.get(t) is None:
                visit(t)
        stack.pop()
        state[m] = 2

    for m in mods:
        if state.get(m) is None:
            visit(m)


def test_imports_point_down_the_layers():
    mods, edges, _ = _graph()
    bad = []
    for m, targets in edges.items():
        if m == "snnlab":
            continue
        for t in targets:
            if _layer(t) > _layer(m):
                bad.append(f"{m} (layer {_layer(m)}) imports {t} (layer {_layer(t)})")
    assert not bad, "\n".join(sorted(bad))


def test_function_local_imports_only_for_optional_dependencies():
    _, _, local = _graph()
    assert not local, "\n".join(f"{m}: {x}" for m, xs in sorted(local.items()) for x in xs)


def test_neuron_models_live_in_the_neuron_layer():
    import torch

    import snnlab
    from snnlab import compare, conversion, models, rules, train  # noqa: F401

    rules.available()
    stray = []
    seen = set()

    def walk(cls):
        for sub in cls.__subclasses__():
            if sub in seen:
                continue
            seen.add(sub)
            mod = sub.__module__
            if mod.startswith("snnlab") and hasattr(sub, "simulate") and hasattr(sub, "advance") \
                    and not mod.startswith("snnlab.neurons"):
                stray.append(f"{mod}.{sub.__name__}")
            walk(sub)

    walk(torch.nn.Module)
    assert not stray, f"neuron models outside snnlab/neurons/: {stray}"
    assert snnlab.neurons.available()


def test_no_rule_overrides_the_training_step():
    from snnlab import rules
    from snnlab.rules.base import Rule

    overriding = [name for name in rules.available()
                  if inspect.getattr_static(rules.get(name).__class__, "step")
                  is not inspect.getattr_static(Rule, "step")]
    assert not overriding, f"rules overriding Rule.step: {overriding}"


def test_every_module_declares_all():
    missing = []
    for mod, path in _modules():
        if path.name == "__main__.py":
            continue
        tree = ast.parse(path.read_text())
        assigns = [n for n in tree.body if isinstance(n, ast.Assign)
                   and any(isinstance(t, ast.Name) and t.id == "__all__" for t in n.targets)]
        aug = [n for n in tree.body if isinstance(n, ast.AugAssign)
               and isinstance(n.target, ast.Name) and n.target.id == "__all__"]
        if not assigns or aug:
            missing.append(mod)
    assert not missing, f"modules without one literal __all__: {missing}"
