"""The one YAML loader: parse a file into typed dataclasses, with errors that name file, line and field."""

from __future__ import annotations

import dataclasses
import difflib
import types
import typing
from enum import Enum
from pathlib import Path
from typing import Any, Union, get_args, get_origin, get_type_hints

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode


class ConfigError(ValueError):
    """A file that does not describe a valid object. The message names file, line, field and what was expected."""

    def __init__(self, message: str, *, file: str = "<string>", line: int | None = None, path: str = "") -> None:
        self.file = file
        self.line = line
        self.path = path
        self.detail = message
        where = file if line is None else f"{file}:{line}"
        field = f" {path}:" if path else ""
        super().__init__(f"{where}:{field} {message}")


class Converter:
    """Callable hook for a type that parses itself from a scalar (e.g. '50ms', '0x58', '+44...')."""

    @classmethod
    def from_yaml(cls, value: Any, path: str) -> Any:  # pragma: no cover - protocol
        raise NotImplementedError


def load_file(path: str | Path, cls: type, *, default: Any = None) -> Any:
    text = Path(path).read_text(encoding="utf-8")
    return load_text(text, cls, file=str(path))


def load_text(text: str, cls: type, *, file: str = "<string>") -> Any:
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark
        raise ConfigError(f"not valid YAML: {error.problem}", file=file,
                          line=mark.line + 1 if mark else None) from None
    if node is None:
        node = MappingNode("tag:yaml.org,2002:map", [])
    return _Loader(file).build(node, cls, "")


def _type_name(tp: Any) -> str:
    if isinstance(tp, type):
        if dataclasses.is_dataclass(tp):
            return "a mapping"
        if issubclass(tp, Enum):
            return "one of " + ", ".join(repr(m.value) for m in tp)
        return {str: "a string", int: "an integer", float: "a number", bool: "true or false"}.get(tp, tp.__name__)
    origin = get_origin(tp)
    if origin in (list, tuple):
        return "a list"
    if origin is dict:
        return "a mapping"
    if origin in (Union, types.UnionType):
        return " or ".join(_type_name(a) for a in get_args(tp) if a is not type(None))
    if origin is typing.Literal:
        return "one of " + ", ".join(repr(a) for a in get_args(tp))
    return str(tp)


class _Loader:
    def __init__(self, file: str) -> None:
        self.file = file

    def error(self, node: Node, path: str, message: str) -> ConfigError:
        return ConfigError(message, file=self.file, line=node.start_mark.line + 1, path=path or "(top level)")

    def build(self, node: Node, tp: Any, path: str) -> Any:
        origin = get_origin(tp)
        if tp is Any:
            return _plain(node)
        if origin in (Union, types.UnionType):
            options = [a for a in get_args(tp) if a is not type(None)]
            if isinstance(node, ScalarNode) and node.tag == "tag:yaml.org,2002:null" and len(options) < len(get_args(tp)):
                return None
            errors = []
            for option in options:
                try:
                    return self.build(node, option, path)
                except ConfigError as error:
                    errors.append(error)
            # The most specific failure is the one deepest in the tree.
            deepest = max(errors, key=lambda e: (len(e.path), e.line or 0))
            if len(options) > 1 and deepest.path == (path or "(top level)"):
                raise self.error(node, path, f"expected {_type_name(tp)}")
            raise deepest
        if origin is typing.Literal:
            value = _plain(node)
            if value not in get_args(tp):
                raise self.error(node, path, f"expected {_type_name(tp)}, got {value!r}" + _suggest(value, get_args(tp)))
            return value
        if origin in (list, tuple):
            if not isinstance(node, SequenceNode):
                if origin is tuple and get_args(tp)[-1:] != (Ellipsis,):
                    raise self.error(node, path, f"expected {_type_name(tp)}")
                items = [node]  # one item may stand for a list of one
            else:
                items = node.value
            args = get_args(tp)
            item_tp = args[0] if args else Any
            values = [self.build(item, item_tp, f"{path}[{i}]") for i, item in enumerate(items)]
            return tuple(values) if origin is tuple else values
        if origin is dict:
            if not isinstance(node, MappingNode):
                raise self.error(node, path, "expected a mapping")
            key_tp, value_tp = get_args(tp) or (str, Any)
            return {
                self.build(k, key_tp, path): self.build(v, value_tp, f"{path}.{_plain(k)}" if path else str(_plain(k)))
                for k, v in node.value
            }
        if isinstance(tp, type) and dataclasses.is_dataclass(tp):
            return self.build_dataclass(node, tp, path)
        if isinstance(tp, type) and issubclass(tp, Converter):
            try:
                return tp.from_yaml(_plain(node), path)
            except (ValueError, TypeError) as error:
                raise self.error(node, path, str(error)) from None
        if isinstance(tp, type) and issubclass(tp, Enum):
            value = _plain(node)
            for member in tp:
                if member.value == value or (isinstance(value, str) and member.name.lower() == value.lower()):
                    return member
            raise self.error(node, path, f"expected {_type_name(tp)}, got {value!r}"
                             + _suggest(str(value), [str(m.value) for m in tp]))
        if not isinstance(node, ScalarNode):
            raise self.error(node, path, f"expected {_type_name(tp)}, got a {'list' if isinstance(node, SequenceNode) else 'mapping'}")
        value = _plain(node)
        if tp is bool:
            if isinstance(value, bool):
                return value
        elif tp is int:
            if isinstance(value, int) and not isinstance(value, bool):
                return value
            if isinstance(value, str):
                try:
                    return int(value, 0)
                except ValueError:
                    pass
        elif tp is float:
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                return float(value)
        elif tp is str:
            if value is not None and not isinstance(value, (dict, list)):
                return str(value) if not isinstance(value, bool) else str(value).lower()
        else:
            return value
        raise self.error(node, path, f"expected {_type_name(tp)}, got {value!r}")

    def build_dataclass(self, node: Node, cls: type, path: str) -> Any:
        hooks = getattr(cls, "__yaml_scalar__", None)
        if hooks is not None and isinstance(node, ScalarNode):
            try:
                return hooks(_plain(node))
            except (ValueError, TypeError) as error:
                raise self.error(node, path, str(error)) from None
        if not isinstance(node, MappingNode):
            raise self.error(node, path, f"expected a mapping with keys {', '.join(f.name for f in dataclasses.fields(cls) if f.init)}")
        hints = get_type_hints(cls)
        fields = {f.name: f for f in dataclasses.fields(cls) if f.init}
        aliases: dict[str, str] = getattr(cls, "__yaml_aliases__", {})
        kwargs: dict[str, Any] = {}
        for key_node, value_node in node.value:
            key = str(_plain(key_node))
            name = aliases.get(key, key.replace("-", "_"))
            child = f"{path}.{key}" if path else key
            if name not in fields:
                known = list(fields) + list(aliases)
                raise self.error(key_node, child, f"unknown key {key!r}" + _suggest(key, known)
                                 + f"; expected one of: {', '.join(sorted(k for k in fields))}")
            if name in kwargs:
                raise self.error(key_node, child, "given twice")
            kwargs[name] = self.build(value_node, hints[name], child)
        missing = [n for n, f in fields.items() if n not in kwargs and f.default is dataclasses.MISSING
                   and f.default_factory is dataclasses.MISSING]
        if missing:
            raise self.error(node, path, f"missing required key {missing[0]!r}")
        try:
            instance = cls(**kwargs)
            check = getattr(instance, "validate", None)
            if check is not None:
                check()
        except (ValueError, TypeError) as error:
            if isinstance(error, ConfigError):
                raise
            raise self.error(node, path, str(error)) from None
        return instance


def _plain(node: Node) -> Any:
    loader = yaml.SafeLoader("")
    try:
        return loader.construct_object(node, deep=True)
    finally:
        loader.dispose()


def _suggest(word: Any, options: Any) -> str:
    matches = difflib.get_close_matches(str(word), [str(o) for o in options], n=1, cutoff=0.6)
    return f" (did you mean {matches[0]!r}?)" if matches else ""
