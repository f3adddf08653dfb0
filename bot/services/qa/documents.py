"""Knowledge-base documents: Markdown parsed into a title and sections, then chunks.

A document is Markdown with one `# Title` line and `## Section` headings (a `### Sub`
heading becomes the section "Section › Sub"). Text before the first section is the
"Overview". Headings inside code fences are text. Long sections are cut into chunks at
paragraph, then sentence, then word boundaries.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from dataclasses import dataclass
from pathlib import Path

from bot.errors import DomainError, StartupError

SHIPPED_DIR = Path(__file__).resolve().parents[3] / "content" / "kb"
SLUG = re.compile(r"^[a-z0-9][a-z0-9-]{0,59}$")
TITLE_LIMIT = 100
HEADING_LIMIT = 100
MAX_SECTIONS = 200
OVERVIEW = "Overview"
FENCE = re.compile(r"^\s*(```|~~~)")
HEADING = re.compile(r"^(#{1,3})\s+(.+?)\s*#*\s*$")
SUBSECTION_JOIN = " › "


@dataclass(frozen=True)
class Section:
    heading: str
    text: str


@dataclass(frozen=True)
class Document:
    slug: str
    title: str
    sections: tuple[Section, ...]
    body: str

    @property
    def content_hash(self) -> str:
        return content_hash(self.body)


@dataclass(frozen=True)
class Chunk:
    position: int
    section: str
    text: str


def content_hash(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def passage_text(title: str, section: str, body: str) -> str:
    """What a passage is embedded from: its place in the knowledge base, then its text."""
    return f"{title}{SUBSECTION_JOIN}{section}\n\n{body}"


def passage_hash(title: str, section: str, body: str) -> str:
    """The key a passage's vector is cached under (qa_chunks.content_hash)."""
    return content_hash(passage_text(title, section, body))


def normalize_text(text: str) -> str:
    """One newline style, no byte-order mark, no control characters but tabs and newlines."""
    text = text.replace("\r\n", "\n").replace("\r", "\n").lstrip("\ufeff")
    return "".join(
        ch for ch in text if ch in "\n\t" or unicodedata.category(ch) not in ("Cc", "Cs")
    ).strip()


def slugify(text: str) -> str:
    """A lowercase, hyphenated id from a title or file name ('' when nothing is left)."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")
    return slug[:60].rstrip("-")


def parse_document(text: str, *, slug: str, fallback_title: str | None = None) -> Document:
    """Parse Markdown; raise DomainError when there is no title or no text at all."""
    body = normalize_text(text)
    title: str | None = None
    sections: list[Section] = []
    heading = OVERVIEW
    parent: str | None = None
    lines: list[str] = []
    in_fence = False

    def close() -> None:
        content = "\n".join(lines).strip()
        if content:
            sections.append(Section(heading, content))
        lines.clear()

    for line in body.split("\n"):
        if FENCE.match(line):
            in_fence = not in_fence
        match = None if in_fence else HEADING.match(line)
        if match is None:
            lines.append(line)
            continue
        level, name = len(match.group(1)), _clean_heading(match.group(2))
        if level == 1 and title is None and not sections and not "".join(lines).strip():
            title = name[:TITLE_LIMIT]
            continue
        if level == 1:
            lines.append(line)
            continue
        close()
        if level == 2:
            parent, heading = name, name
        else:
            heading = f"{parent}{SUBSECTION_JOIN}{name}" if parent else name
        heading = heading[:HEADING_LIMIT]
    close()

    title = title or (fallback_title or "").strip()[:TITLE_LIMIT]
    if not title:
        raise DomainError("The document needs a title: start it with a line like `# My title`.")
    if not sections:
        raise DomainError("The document has no text besides its title.")
    if len(sections) > MAX_SECTIONS:
        raise DomainError(f"A document can have at most {MAX_SECTIONS} sections.")
    return Document(slug=slug, title=title, sections=tuple(sections), body=body)


def _clean_heading(text: str) -> str:
    return re.sub(r"\s+", " ", text.replace("*", "").replace("`", "")).strip()


def chunk_document(document: Document, max_chars: int) -> list[Chunk]:
    """Each section is one chunk, or several when it is longer than `max_chars`."""
    chunks: list[Chunk] = []
    for section in document.sections:
        for piece in split_text(section.text, max_chars):
            chunks.append(Chunk(len(chunks), section.heading, piece))
    return chunks


def split_text(text: str, max_chars: int) -> list[str]:
    """Cut at paragraph boundaries; a paragraph too long is cut at sentences, then words."""
    if len(text) <= max_chars:
        return [text]
    pieces: list[str] = []
    current = ""
    for paragraph in _units(text, max_chars):
        candidate = f"{current}\n\n{paragraph}" if current else paragraph
        if len(candidate) <= max_chars:
            current = candidate
        else:
            if current:
                pieces.append(current)
            current = paragraph
    if current:
        pieces.append(current)
    return pieces


def _units(text: str, max_chars: int) -> list[str]:
    units: list[str] = []
    for paragraph in re.split(r"\n\s*\n", text):
        paragraph = paragraph.strip()
        if not paragraph:
            continue
        if len(paragraph) <= max_chars:
            units.append(paragraph)
            continue
        sentence_group = ""
        for sentence in re.split(r"(?<=[.!?])\s+", paragraph):
            for part in _words(sentence, max_chars):
                joined = f"{sentence_group} {part}" if sentence_group else part
                if len(joined) <= max_chars:
                    sentence_group = joined
                else:
                    units.append(sentence_group)
                    sentence_group = part
        if sentence_group:
            units.append(sentence_group)
    return units


def _words(sentence: str, max_chars: int) -> list[str]:
    if len(sentence) <= max_chars:
        return [sentence]
    parts: list[str] = []
    current = ""
    for word in sentence.split():
        while len(word) > max_chars:
            if current:
                parts.append(current)
                current = ""
            parts.append(word[:max_chars])
            word = word[max_chars:]
        joined = f"{current} {word}" if current else word
        if len(joined) <= max_chars:
            current = joined
        else:
            parts.append(current)
            current = word
    if current:
        parts.append(current)
    return parts


def load_shipped_documents(directory: Path = SHIPPED_DIR) -> list[Document]:
    """Read and check every shipped document; a broken one stops the bot at start-up."""
    if not directory.is_dir():
        raise StartupError(f"The knowledge base folder {directory} is missing.")
    documents = []
    for path in sorted(directory.glob("*.md")):
        documents.append(_load_shipped(path))
    if not documents:
        raise StartupError(f"The knowledge base folder {directory} has no .md documents.")
    return documents


def _load_shipped(path: Path) -> Document:
    where = f"Knowledge-base document {path.name}"
    if not SLUG.match(path.stem):
        raise StartupError(f"{where}: name it with lowercase letters, digits and hyphens.")
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise StartupError(f"{where} is not UTF-8 text.") from None
    first = normalize_text(text).split("\n", 1)[0]
    if not first.startswith("# "):
        raise StartupError(f"{where} must start with a '# Title' line.")
    try:
        document = parse_document(text, slug=path.stem)
    except DomainError as exc:
        raise StartupError(f"{where}: {exc.message}") from None
    if len(first) - 2 > TITLE_LIMIT:
        raise StartupError(f"{where}: the title is longer than {TITLE_LIMIT} characters.")
    headings = [section.heading for section in document.sections]
    if OVERVIEW in headings[1:] or len(set(headings)) != len(headings):
        raise StartupError(f"{where}: two sections share a heading.")
    if all(heading == OVERVIEW for heading in headings):
        raise StartupError(f"{where}: it needs at least one '## Section' heading.")
    return document
