"""config.yaml's YAML, read strictly: PyYAML's safe loader, refusing what would silently lose a setting or
make a small file large.

:func:`load_yaml` is ``yaml.safe_load`` (the same types, anchors, aliases and ``<<`` merges) except that it
raises :class:`YamlRefused`, one sentence with its line, for

- a key given twice in one mapping, at any depth (PyYAML keeps the last and says nothing: a second
  ``accounts:`` block would drop the first);
- lists and mappings nested deeper than :data:`MAX_DEPTH`, as written or once aliases are expanded
  (PyYAML's composer recurses: 5,000 ``[`` end in a RecursionError);
- more than :data:`MAX_NODES` values in the file, aliases expanded (a "billion laughs": 415 bytes of
  nested aliases are 9^8 values for the validation and the error message to walk);
- an integer of more than :data:`MAX_DIGITS` digits (``int()`` refuses 4,300 digits with a ValueError, and
  no setting needs more than 18), and any other scalar its constructor cannot build (``2026-02-30``).

The values are counted as the document is composed, before anything is constructed: an alias adds the
count of its anchor's values (measured when the anchor was composed) without expanding anything, so a
billion laughs is refused in about a millisecond, and the longest refusal (a 1 MB file of one-character
values) reads 20,000 of them, about a second.

No library does this for PyYAML: ruamel.yaml refuses duplicate keys but bounds neither aliases nor depth,
and strictyaml refuses flow style (``regions: [us-east-1]``), which config.yaml uses.
"""

from __future__ import annotations

from typing import Any

import yaml
from yaml.nodes import CollectionNode, MappingNode, Node, ScalarNode

from dashboard.config.echo import cut, echo

__all__ = ["MAX_DEPTH", "MAX_NODES", "MAX_DIGITS", "YamlRefused", "load_yaml"]

MAX_DEPTH = 32  # lists and mappings inside each other; config.yaml needs 7
MAX_NODES = 20_000  # values (scalars, lists, mappings, aliases expanded); the example config.yaml holds 283
MAX_DIGITS = 18  # of an integer

_MERGE = "tag:yaml.org,2002:merge"


class YamlRefused(yaml.YAMLError):
    """Valid YAML that config.yaml does not accept; ``str()`` is ``line N: <why>; <the fix>``."""

    def __init__(self, line: int, message: str):
        super().__init__(f"line {line}: {message}")
        self.line = line


class _Loader(yaml.SafeLoader):
    def __init__(self, stream: str):
        super().__init__(stream)
        self._level = 0  # nesting of the node being composed, as written
        self._measured: dict[int, tuple[int, int]] = {}  # id(node) → (values, depth) with aliases expanded
        self._values = 0  # values composed so far, aliases expanded
        self._aliases = False

    # -- composing: nesting, alias expansion, duplicate keys ------------------------------------------------

    def compose_node(self, parent: Node | None, index: Any) -> Node:
        event = self.peek_event()
        if isinstance(event, yaml.AliasEvent):
            self._aliases = True
        elif isinstance(event, yaml.SequenceStartEvent | yaml.MappingStartEvent) and self._level >= MAX_DEPTH:
            raise self._too_deep(event.start_mark.line + 1)
        self._level += 1
        try:
            node = super().compose_node(parent, index)
        finally:
            self._level -= 1
        if id(node) in self._measured:  # an alias: its anchor's values, measured when it was composed, count again
            self._values += self._measured[id(node)][0]
        else:
            self._measure(node)
            self._values += 1
        if self._values > MAX_NODES:  # counted as they come: a long flow list is refused at its 100,001st value
            why = " once its aliases (*name) are expanded; write out what you need" if self._aliases else "; a config needs far fewer"
            raise YamlRefused(event.start_mark.line + 1, f"the file holds more than {MAX_NODES:,} values{why}")
        return node

    def compose_mapping_node(self, anchor: str | None) -> MappingNode:
        node = super().compose_mapping_node(anchor)
        first: dict[tuple[str, str], int] = {}
        for key, _ in node.value:
            if not isinstance(key, ScalarNode) or key.tag == _MERGE:
                continue
            line = key.start_mark.line + 1
            if (key.tag, key.value) in first:  # the same text under the same resolved tag: 'a' and "a" alike
                raise YamlRefused(line, f"duplicate key {echo(key.value)} (first at line {first[key.tag, key.value]}); keep one")
            first[key.tag, key.value] = line
        return node

    def _measure(self, node: Node) -> None:
        """(values, depth) of ``node`` with its aliases expanded, from its children's (composed before it)."""
        values, depth = 1, 0  # depth: lists and mappings inside each other, as MAX_DEPTH counts them
        if isinstance(node, CollectionNode):
            children = [c for pair in node.value for c in pair] if isinstance(node, MappingNode) else node.value
            depth = 1
            for child in children:
                v, d = self._measured[id(child)]
                values, depth = values + v, max(depth, d + 1)
        if depth > MAX_DEPTH:  # through aliases: each anchor one level deeper than the last
            raise self._too_deep(node.start_mark.line + 1)
        self._measured[id(node)] = (values, depth)

    def _too_deep(self, line: int) -> YamlRefused:
        return YamlRefused(line, f"lists and mappings nested more than {MAX_DEPTH} levels deep; flatten them")

    # -- constructing: bounded integers, scalars that cannot be built -------------------------------------

    def construct_yaml_int(self, node: ScalarNode) -> int:
        digits = node.value.replace("_", "").lstrip("+-")
        if len(digits) > MAX_DIGITS:
            raise YamlRefused(node.start_mark.line + 1, f"the number {cut(node.value)} is too large (at most {MAX_DIGITS} digits)")
        value = super().construct_yaml_int(node)
        if abs(value) >= 10**MAX_DIGITS:  # 0x…, 0b…, 1:20:30 (base 60)
            raise YamlRefused(node.start_mark.line + 1, f"the number {cut(node.value)} is too large (at most {MAX_DIGITS} digits)")
        return value

    def construct_object(self, node: Node, deep: bool = False) -> Any:
        try:
            return super().construct_object(node, deep=deep)
        except (ValueError, OverflowError) as e:  # datetime(2026, 2, 30), and the like
            value = f"{echo(node.value)} " if isinstance(node, ScalarNode) else ""
            raise YamlRefused(node.start_mark.line + 1, f"{value}cannot be read ({cut(str(e))}); fix the value") from None


_Loader.add_constructor("tag:yaml.org,2002:int", _Loader.construct_yaml_int)


def load_yaml(text: str) -> Any:
    """The one document in ``text``, as ``yaml.safe_load`` reads it, or :class:`YamlRefused` (see the module)."""
    loader = _Loader(text)
    try:
        return loader.get_single_data()
    finally:
        loader.dispose()
