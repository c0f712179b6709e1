"""Finds user-facing text that is not marked for translation: literal text in templates (text nodes and
the attributes people read or hear) outside {% translate %}/{% blocktranslate %}, and Python strings
given to messages.*, ValidationError, ApplicationError and form labels/help texts without gettext."""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path

from django.template.base import Lexer, TokenType

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE_DIRS = [ROOT / "templates"]
PYTHON_APPS = [
    "accounts", "analytics", "api", "audit", "audittrail", "civicpost", "composer", "connections", "demo",
    "departments", "feeds", "governance", "medialibrary", "monitoring", "people", "scheduler",
]  # fmt: skip

# Words that are the same in every language: names of products, platforms and standards.
ALLOWED_WORDS = {
    "CivicPost", "USWDS", "API", "OpenAPI", "Swagger", "UI", "CSV", "JSON", "iCal", "ICS", "URL", "RSS", "Atom",
    "Facebook", "Instagram", "LinkedIn", "YouTube", "Bluesky", "Mastodon", "Threads", "Nextdoor", "TikTok",
    "Google", "Business", "Profile", "Sandbox", "X", "SSO", "SAML", "OIDC", "MFA", "TOTP", "UTC", "ID", "OK",
    "Meta", "Pinterest", "Telegram", "WhatsApp", "Reddit", "Page", "Pages",
}  # fmt: skip
# Attributes whose text a person reads or hears.
READ_ATTRIBUTES = {"aria-label", "title", "placeholder", "alt", "aria-description", "aria-roledescription"}
SKIPPED_ELEMENTS = {"script", "style", "code", "pre", "kbd", "samp"}
TRANSLATED = "\x01"
DYNAMIC = "\x02"  # not \x00: HTMLParser ends a tag name there ("<h{{ level }}>")
WORD = re.compile(r"[A-Za-zÀ-ÿ]{2,}")


@dataclass(frozen=True)
class Finding:
    where: str
    text: str

    def __str__(self) -> str:
        return f"{self.where}: {self.text!r}"


def _flatten(source: str) -> str:
    """Returns the template with each tag/variable replaced by a placeholder character, and the text inside
    {% blocktranslate %} (and comments) by TRANSLATED, so that only literal, unmarked text is left."""
    out: list[str] = []
    inside: list[str] = []  # the open blocktranslate / comment / verbatim blocks
    for token in Lexer(source).tokenize():
        if token.token_type == TokenType.BLOCK:
            name = token.contents.split()[0] if token.contents else ""
            if name in ("blocktranslate", "blocktrans", "comment", "verbatim"):
                inside.append(name)
                out.append(TRANSLATED)
            elif name in ("endblocktranslate", "endblocktrans", "endcomment", "endverbatim"):
                if inside:
                    inside.pop()
            elif name in ("translate", "trans"):
                out.append(TRANSLATED)
            elif not inside:
                out.append(DYNAMIC)
        elif token.token_type == TokenType.TEXT:
            out.append(TRANSLATED if inside else token.contents)
        elif token.token_type == TokenType.VAR and not inside:
            out.append(DYNAMIC)
    return "".join(out)


def _unmarked(text: str) -> str:
    """Returns the words of `text` that need a translation ("" when none do)."""
    text = re.sub(r"&[#A-Za-z0-9]+;", " ", text)
    text = text.replace(TRANSLATED, " ").replace(DYNAMIC, " ")
    words = [w for w in WORD.findall(text) if w not in ALLOWED_WORDS]
    return " ".join(text.split()) if words else ""


class _TextCollector(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=False)
        self.found: list[str] = []
        self._skip = 0  # inside <script>/<style>/<code>/<pre>: code, not words

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in SKIPPED_ELEMENTS:
            self._skip += 1
        for name, value in attrs:
            if name in READ_ATTRIBUTES and value and (words := _unmarked(value)):
                self.found.append(f'{name}="{words}"')
        is_button = tag == "input" and dict(attrs).get("type") in ("submit", "button", "reset")
        if is_button and (value := dict(attrs).get("value")) and (words := _unmarked(value)):
            self.found.append(f'value="{words}"')

    def handle_endtag(self, tag: str) -> None:
        if tag in SKIPPED_ELEMENTS and self._skip:
            self._skip -= 1

    def handle_data(self, data: str) -> None:
        if not self._skip and (words := _unmarked(data)):
            self.found.append(words)


def template_findings(path: Path) -> list[Finding]:
    """Returns the unmarked text of one template."""
    collector = _TextCollector()
    flat = _flatten(path.read_text(encoding="utf-8"))
    if path.suffix == ".txt":  # e-mail bodies: every literal line is text
        return [Finding(str(path.relative_to(ROOT)), w) for w in [_unmarked(flat)] if w]
    # A tag whose name is computed ("<{% if %}a ...{% endif %}>") is still a tag.
    collector.feed(re.sub(r"<(/?)" + DYNAMIC, r"<\1x" + DYNAMIC, flat))
    collector.close()
    return [Finding(str(path.relative_to(ROOT)), text) for text in collector.found]


def all_template_findings() -> list[Finding]:
    findings: list[Finding] = []
    for directory in TEMPLATE_DIRS:
        for path in sorted(directory.rglob("*")):
            if path.suffix in (".html", ".txt") and path.is_file():
                findings += template_findings(path)
    return findings


# --- Python ---------------------------------------------------------------------------------------

GETTEXT_NAMES = {
    "_", "gettext", "gettext_lazy", "ngettext", "ngettext_lazy", "pgettext", "pgettext_lazy", "npgettext",
    "npgettext_lazy", "format_lazy", "mark_safe", "format_html", "str",
}  # fmt: skip
MESSAGE_FUNCTIONS = {"debug", "info", "success", "warning", "error", "add_message"}
RAISED_WITH_MESSAGE = {"ValidationError", "ApplicationError"}
FORM_KEYWORDS = {"label", "help_text", "empty_label", "verbose_name", "verbose_name_plural"}


def _is_literal_text(node: ast.AST) -> bool:
    """A string literal (or f-string / %-format / concatenation built on one) with words in it."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return bool(WORD.search(node.value)) and bool(_unmarked(node.value))
    if isinstance(node, ast.JoinedStr):
        return any(_is_literal_text(v) for v in node.values)
    if isinstance(node, ast.BinOp):
        return _is_literal_text(node.left) or _is_literal_text(node.right)
    return False


def _callee(node: ast.Call) -> str:
    func = node.func
    if isinstance(func, ast.Name):
        return func.id
    if isinstance(func, ast.Attribute):
        return func.attr
    return ""


def _message_argument(node: ast.Call) -> ast.AST | None:
    name = _callee(node)
    if isinstance(node.func, ast.Attribute) and isinstance(node.func.value, ast.Name):
        owner = node.func.value.id
        if owner == "messages" and name in MESSAGE_FUNCTIONS:
            index = 2 if name == "add_message" else 1
            return node.args[index] if len(node.args) > index else None
    if name in RAISED_WITH_MESSAGE and node.args:
        return node.args[0]
    return None


def _choice_labels(node: ast.AST) -> list[ast.AST]:
    """The labels of a literal list/tuple of (value, label) pairs."""
    if not isinstance(node, ast.List | ast.Tuple):
        return []
    return [pair.elts[1] for pair in node.elts if isinstance(pair, ast.Tuple) and len(pair.elts) == 2]


TRANSLATING_CALLS = {"_", "gettext", "gettext_lazy", "pgettext", "pgettext_lazy"}


def _module_strings(tree: ast.Module) -> set[str]:
    """Names the module binds to a plain string literal (not to gettext_noop(...))."""
    names = set()
    for node in tree.body:
        if isinstance(node, ast.Assign) and isinstance(node.value, ast.Constant) and isinstance(node.value.value, str):
            names |= {target.id for target in node.targets if isinstance(target, ast.Name)}
    return names


def python_findings(path: Path) -> list[Finding]:
    """Returns the unmarked message strings of one Python module."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    where = str(path.relative_to(ROOT))
    found: list[Finding] = []
    constants = _module_strings(tree)
    for node in ast.walk(tree):
        # _(CONSTANT) of a plain string: xgettext never sees the words, so they are never translated.
        if (
            isinstance(node, ast.Call)
            and _callee(node) in TRANSLATING_CALLS
            and node.args
            and isinstance(node.args[0], ast.Name)
            and node.args[0].id in constants
        ):
            advice = f"{ast.unparse(node)}: mark {node.args[0].id} with gettext_noop"
            found.append(Finding(f"{where}:{node.lineno}", advice))
        # TextChoices members: NAME = "value", "Label"
        if isinstance(node, ast.ClassDef) and any(ast.unparse(b).endswith("Choices") for b in node.bases):
            for item in node.body:
                if isinstance(item, ast.Assign) and isinstance(item.value, ast.Tuple) and len(item.value.elts) == 2:
                    label = item.value.elts[1]
                    if _is_literal_text(label):
                        found.append(Finding(f"{where}:{item.lineno}", f"choice label {ast.unparse(label)}"))
        if isinstance(node, ast.keyword) and node.arg == "choices":
            for label in _choice_labels(node.value):
                if _is_literal_text(label):
                    found.append(Finding(f"{where}:{label.lineno}", f"choice label {ast.unparse(label)}"))
        if not isinstance(node, ast.Call):
            continue
        argument = _message_argument(node)
        if argument is not None and _is_literal_text(argument):
            found.append(Finding(f"{where}:{node.lineno}", ast.unparse(argument)[:120]))
        for keyword in node.keywords:
            if keyword.arg in FORM_KEYWORDS and _is_literal_text(keyword.value):
                found.append(Finding(f"{where}:{node.lineno}", f"{keyword.arg}={ast.unparse(keyword.value)[:120]}"))
    return found


def all_python_findings() -> list[Finding]:
    findings: list[Finding] = []
    for app in PYTHON_APPS:
        for path in sorted((ROOT / app).rglob("*.py")):
            if "migrations" in path.parts or "management" in path.parts:
                continue
            findings += python_findings(path)
    return findings
