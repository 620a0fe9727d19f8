"""SocksifyCore's folders are layers: each may use the ones below it, never one above.

One module, so the compiler does not enforce it; this test does, by the type names each folder
declares and the files of other folders that mention them.
"""

import collections
import re
from pathlib import Path

CORE = Path(__file__).resolve().parent.parent / "Sources" / "SocksifyCore"

# Bottom to top. A folder may use only folders listed before it.
LAYERS = ["Address", "Protocol", "Config", "Rules", "DNS", "Program", "Handshake", "IO", "Policy", "Shim"]

DECLARATION = re.compile(r"^(?:public |internal |final |indirect )*(?:struct|enum|class|protocol|typealias)\s+(\w+)", re.M)


def folder_uses():
    declared = {}
    sources = {}
    for path in CORE.rglob("*.swift"):
        folder = path.relative_to(CORE).parts[0]
        text = path.read_text()
        sources[path] = (folder, text)
        for name in DECLARATION.findall(text):
            declared[name] = folder
    uses = collections.defaultdict(set)
    for path, (folder, text) in sources.items():
        for name, owner in declared.items():
            if owner != folder and re.search(r"\b%s\b" % name, text):
                uses[(folder, owner)].add("%s uses %s" % (path.name, name))
    return uses


def test_every_folder_is_a_known_layer():
    folders = {p.name for p in CORE.iterdir() if p.is_dir()}
    assert folders == set(LAYERS), "add the new folder to LAYERS at its place: %s" % sorted(folders ^ set(LAYERS))


def test_no_folder_uses_one_above_it():
    upward = {pair: why for pair, why in folder_uses().items() if LAYERS.index(pair[0]) < LAYERS.index(pair[1])}
    assert not upward, "\n".join("%s -> %s: %s" % (a, b, sorted(why)[:3]) for (a, b), why in upward.items())
