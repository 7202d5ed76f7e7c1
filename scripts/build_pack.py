"""Builds the Cortex XSOAR content pack from the repository's own files.

Reads integration.yml (the integration, its shim, parameters, commands and detailed
description), README.md (sections of the pack's README), Cargo.toml (the pack version) and the
static content under pack/ (pack metadata, incident type, incident fields, mappers, release
notes, README template). Writes, under the output folder (target/pack by default):

  <PackId>/      the pack in the content repository's layout (what `demisto-sdk validate` reads):
                 the integration split into <Name>.yml, <Name>.py, <Name>_description.md,
                 <Name>_image.png and README.md
  <PackId>.zip   the same pack as demisto-sdk's zip-packs lays it out: the integration unified
                 into one yml (script, detailed description and image inline) and the
                 marketplace's metadata.json; what Cortex XSOAR's "upload custom content" takes

Nothing here is kept twice: names that several files share (incident type, mapper ids) are
read from the file that defines them, selectable values of the Status, Classification and
Determination fields from the arguments of microsoft-365-defender-incident-update.

Usage: python build_pack.py [--out DIR]   (needs PyYAML; scripts/build-pack.sh provides it)
"""

from __future__ import annotations

import argparse
import base64
import copy
import json
import re
import shutil
import struct
import subprocess
import sys
import tomllib
import zipfile
import zlib
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
PACK_SRC = ROOT / "pack"
# Every file in the zip gets this time, so that the same sources give the same bytes.
ZIP_TIME = (2020, 1, 1, 0, 0, 0)


class BuildError(Exception):
    pass


# ---------------------------------------------------------------------------------------------
# YAML: written the way demisto-sdk writes it (keys in their order, multi-line text as blocks)


class _Dumper(yaml.SafeDumper):
    def ignore_aliases(self, data):
        return True


def _str_representer(dumper, text):
    if "\n" in text:
        # Block style cannot carry trailing spaces on a line; strip them (Markdown ignores them).
        text = "\n".join(line.rstrip() for line in text.split("\n"))
        return dumper.represent_scalar("tag:yaml.org,2002:str", text, style="|")
    return dumper.represent_scalar("tag:yaml.org,2002:str", text)


_Dumper.add_representer(str, _str_representer)


def dump_yaml(doc) -> str:
    return yaml.dump(doc, Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=10_000)


def load_json(path: Path):
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except ValueError as err:
        raise BuildError(f"{path.relative_to(ROOT)}: not valid JSON: {err}") from err


def dump_json(doc) -> str:
    return json.dumps(doc, indent=4, ensure_ascii=False) + "\n"


# ---------------------------------------------------------------------------------------------
# Sources


def crate_version() -> str:
    with open(ROOT / "Cargo.toml", "rb") as source:
        version = tomllib.load(source)["package"]["version"]
    if not re.fullmatch(r"\d+\.\d+\.\d+", version):
        raise BuildError(f"Cargo.toml: version {version!r} is not x.y.z, which a pack version must be")
    return version


def readme_sections(text: str) -> dict[str, str]:
    """The README's level-2 sections by title, each with its heading line."""
    sections: dict[str, str] = {}
    title = None
    lines: list[str] = []
    in_code = False
    for line in text.splitlines():
        if line.startswith("```"):
            in_code = not in_code
        if not in_code and line.startswith("## "):
            if title is not None:
                sections[title] = "\n".join(lines).strip() + "\n"
            title, lines = line[3:].strip(), [line]
        elif title is not None:
            lines.append(line)
    if title is not None:
        sections[title] = "\n".join(lines).strip() + "\n"
    return sections


def drop_subsection(section: str, prefix: str) -> str:
    """The section without its level-3 subsection whose title starts with `prefix`."""
    kept, skipping, in_code = [], False, False
    for line in section.splitlines():
        if line.startswith("```"):
            in_code = not in_code
        if not in_code and line.startswith("### "):
            skipping = line[4:].strip().startswith(prefix)
        if not skipping:
            kept.append(line)
    return "\n".join(kept).strip() + "\n"


INCLUDE = re.compile(r"^<!-- include: (?P<title>[^|>]+?)(?: \| except: (?P<except>[^>]+?))? -->$", re.M)


def pack_readme(template: str, readme: str) -> str:
    sections = readme_sections(readme)

    def include(match: re.Match) -> str:
        wanted = match["title"].strip()
        found = [body for title, body in sections.items() if title.startswith(wanted)]
        if len(found) != 1:
            raise BuildError(
                f"pack/README.md includes the README section {wanted!r}, "
                f"but README.md has {len(found)} sections whose title starts so"
            )
        body = found[0]
        if match["except"]:
            body = drop_subsection(body, match["except"].strip())
        return body.rstrip("\n")

    return INCLUDE.sub(include, template).rstrip("\n") + "\n"


# ---------------------------------------------------------------------------------------------
# The logo: 120x50 PNG, drawn here so that no binary file is kept in the repository

GLYPHS = {
    "M": ["10001", "11011", "10101", "10101", "10001", "10001", "10001"],
    "3": ["11110", "00001", "00001", "01110", "00001", "00001", "11110"],
    "6": ["00110", "01000", "10000", "11110", "10001", "10001", "01110"],
    "5": ["11111", "10000", "11110", "00001", "00001", "10001", "01110"],
    "D": ["11100", "10010", "10001", "10001", "10001", "10010", "11100"],
}


def logo_png(width: int = 120, height: int = 50) -> bytes:
    text, scale, gap = "M365D", 4, 4
    ink = (0x1F, 0x6F, 0xB2, 0xFF)
    text_w = len(text) * 5 * scale + (len(text) - 1) * gap
    text_h = 7 * scale
    bar_h, bar_gap = 3, 4
    x0 = (width - text_w) // 2
    y0 = (height - text_h - bar_gap - bar_h) // 2
    pixels = [[(0, 0, 0, 0)] * width for _ in range(height)]
    for n, char in enumerate(text):
        gx = x0 + n * (5 * scale + gap)
        for row, bits in enumerate(GLYPHS[char]):
            for col, bit in enumerate(bits):
                if bit == "1":
                    for dy in range(scale):
                        for dx in range(scale):
                            pixels[y0 + row * scale + dy][gx + col * scale + dx] = ink
    for y in range(y0 + text_h + bar_gap, y0 + text_h + bar_gap + bar_h):
        for x in range(x0, x0 + text_w):
            pixels[y][x] = ink
    raw = b"".join(b"\x00" + b"".join(bytes(p) for p in row) for row in pixels)

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, 8, 6, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(raw, 9))
        + chunk(b"IEND", b"")
    )


# ---------------------------------------------------------------------------------------------
# Content items


def fill(value, version_info: dict, predefined: dict):
    """Replaces the templates' placeholders: "@fromVersion", "@version",
    "@predefined:<command>.<argument>" (the argument's predefined values)."""
    if isinstance(value, dict):
        return {k: fill(v, version_info, predefined) for k, v in value.items()}
    if isinstance(value, list):
        return [fill(v, version_info, predefined) for v in value]
    if isinstance(value, str) and value.startswith("@"):
        if value in version_info:
            return version_info[value]
        if value.startswith("@predefined:"):
            key = value.removeprefix("@predefined:")
            if key not in predefined:
                raise BuildError(f"pack/: {value} names no argument with predefined values in integration.yml")
            return list(predefined[key])
        raise BuildError(f"pack/: unknown placeholder {value!r}")
    return value


def predefined_values(integration: dict) -> dict[str, list[str]]:
    values = {}
    for command in (integration.get("script") or {}).get("commands") or []:
        for arg in command.get("arguments") or []:
            if arg.get("predefined"):
                values[f"{command['name']}.{arg['name']}"] = arg["predefined"]
    return values


def content_items(folder: str, fills: dict, predefined: dict) -> dict[str, dict]:
    items = {}
    for path in sorted((PACK_SRC / folder).glob("*.json")):
        items[path.name] = fill(load_json(path), fills, predefined)
    return items


def one_with(items: dict[str, dict], what: str, **match) -> dict:
    found = [doc for doc in items.values() if all(doc.get(k) == v for k, v in match.items())]
    if len(found) != 1:
        raise BuildError(f"pack/: expected one {what}, found {len(found)}")
    return found[0]


# ---------------------------------------------------------------------------------------------
# The integration


def md_cell(text) -> str:
    text = "" if text is None else str(text)
    return text.replace("|", "\\|").replace("\r\n", "\n").strip().replace("\n", "<br/>")


def integration_readme(doc: dict) -> str:
    name = doc["display"]
    out = [f"# {name}", "", doc.get("description", "").strip(), ""]
    out += [
        f"## Configure {name} in Cortex",
        "",
        "| **Parameter** | **Description** | **Required** |",
        "| --- | --- | --- |",
    ]
    for param in doc.get("configuration") or []:
        if param.get("hidden") is True:
            continue
        shown = param.get("display") or param.get("displaypassword") or param["name"]
        out.append(
            f"| {md_cell(shown)} | {md_cell(param.get('additionalinfo', ''))} | "
            f"{'True' if param.get('required') else 'False'} |"
        )
    out += [
        "",
        "## Commands",
        "",
        "You can execute these commands from the CLI, as part of an automation, or in a playbook.",
        "After you successfully execute a command, a DBot message appears in the War Room with the command details.",
        "",
    ]
    for command in (doc.get("script") or {}).get("commands") or []:
        out += [f"### {command['name']}", "", "***", md_cell(command.get("description", "")).replace("<br/>", " "), ""]
        out += ["#### Base Command", "", f"`{command['name']}`", "", "#### Input", ""]
        args = command.get("arguments") or []
        if args:
            out += ["| **Argument Name** | **Description** | **Required** |", "| --- | --- | --- |"]
            for arg in args:
                description = arg.get("description", "")
                if arg.get("predefined"):
                    description += " Possible values are: " + ", ".join(arg["predefined"]) + "."
                if arg.get("defaultValue") not in (None, ""):
                    description += f" Default is {arg['defaultValue']}."
                out.append(
                    f"| {arg['name']} | {md_cell(description)} | "
                    f"{'Required' if arg.get('required') else 'Optional'} |"
                )
        else:
            out.append("There are no input arguments for this command.")
        out += ["", "#### Context Output", ""]
        outputs = command.get("outputs") or []
        if outputs:
            out += ["| **Path** | **Type** | **Description** |", "| --- | --- | --- |"]
            for output in outputs:
                out.append(
                    f"| {md_cell(output['contextPath'])} | {md_cell(output.get('type', 'Unknown'))} | "
                    f"{md_cell(output.get('description', ''))} |"
                )
        else:
            out.append("There is no context output for this command.")
        out.append("")
    return "\n".join(out).rstrip("\n") + "\n"


def integration_docs(source: dict, pack: dict, fills: dict, types: dict, mappers: dict):
    """The integration as the pack holds it, split (yml without code, description and image
    kept beside it) and unified (all in one yml)."""
    doc = copy.deepcopy(source)
    names = pack["integration"]
    doc["commonfields"]["id"] = names["id"]
    doc["name"] = names["id"]
    doc["display"] = names["display"]
    doc["fromversion"] = fills["@fromVersion"]
    doc["defaultmapperin"] = one_with(mappers, "incoming mapper", type="mapping-incoming")["id"]
    doc["defaultmapperout"] = one_with(mappers, "outgoing mapper", type="mapping-outgoing")["id"]
    # The integration's default incident type must be one of the pack's.
    declared = [p.get("defaultvalue") for p in doc.get("configuration") or [] if p.get("name") == "incidentType"]
    type_ids = sorted(t["id"] for t in types.values())
    if len(declared) != 1 or declared[0] not in type_ids:
        raise BuildError(f"integration.yml: incidentType's default {declared} is not one of the pack's incident types {type_ids}")
    code = (doc.get("script") or {}).get("script")
    if not isinstance(code, str) or not code.strip() or code.strip() == "-":
        raise BuildError("integration.yml: script.script holds no shim")
    detailed = (doc.pop("detaileddescription", None) or "").strip()
    if not detailed:
        raise BuildError("integration.yml: detaileddescription is empty; the pack's description file is made of it")
    description_md = detailed + "\n" + (PACK_SRC / "Integrations" / "description-pack.md").read_text(encoding="utf-8")
    doc.pop("image", None)
    # demisto-sdk's strict schema knows this key only in lower case.
    if "sectionOrder" in doc and "sectionorder" not in doc:
        doc = {("sectionorder" if k == "sectionOrder" else k): v for k, v in doc.items()}
    # A pack release names one image: a "latest" (or missing) tag becomes the pack's version,
    # the version of the binary the image must hold.
    image = doc["script"].get("dockerimage") or ""
    repository, _, tag = image.rpartition(":") if ":" in image.rsplit("/", 1)[-1] else (image, "", "")
    if not repository:
        raise BuildError("integration.yml: script.dockerimage is empty")
    if tag in ("", "latest"):
        doc["script"]["dockerimage"] = f"{repository}:{fills['@version']}"

    split = copy.deepcopy(doc)
    split["script"]["script"] = "-"
    unified = copy.deepcopy(doc)
    # The uploaded form is for one marketplace (xsoar): a parameter's list of marketplaces it
    # is hidden in becomes a yes or no, as demisto-sdk's zip-packs writes it.
    for param in unified.get("configuration") or []:
        if isinstance(param.get("hidden"), list):
            param["hidden"] = "xsoar" in param["hidden"]
    unified["detaileddescription"] = description_md
    unified["image"] = "data:image/png;base64," + base64.b64encode(logo_png()).decode()
    # In the unified form the yml keys keep their order; put the two inline texts where
    # demisto-sdk's unifier puts them (after description).
    ordered = {}
    for key, value in unified.items():
        if key in ("detaileddescription", "image"):
            continue
        ordered[key] = value
        if key == "description":
            ordered["detaileddescription"] = unified["detaileddescription"]
            ordered["image"] = unified["image"]
    return split, ordered, code.rstrip("\n") + "\n", description_md


# ---------------------------------------------------------------------------------------------
# metadata.json: the marketplace's description of the pack, which an uploaded pack carries
# beside pack_metadata.json (demisto-sdk's zip-packs computes it the same way)


def source_time() -> str:
    """The time of the checked-out commit (or SOURCE_DATE_EPOCH), so rebuilding the same
    sources writes the same zip."""
    import datetime
    import os

    epoch = os.environ.get("SOURCE_DATE_EPOCH")
    if not epoch:
        try:
            epoch = subprocess.run(
                ["git", "-C", str(ROOT), "log", "-1", "--format=%ct"],
                capture_output=True, text=True, check=True,
            ).stdout.strip()
        except (OSError, subprocess.CalledProcessError):
            epoch = ""
    stamp = datetime.datetime.fromtimestamp(int(epoch or 1577836800), datetime.timezone.utc)
    return stamp.strftime("%Y-%m-%dT%H:%M:%SZ")


EMPTY_CONTENT_KINDS = (
    "automation", "playbook", "dashboard", "indicatorfield", "report", "reputation",
    "layoutscontainer", "pre-process-rule", "job", "widget", "genericfield", "generictype",
    "genericmodule", "genericdefinition", "list",
)


def marketplace_metadata(metadata: dict, integration: dict, types: dict, fields: dict, mappers: dict) -> dict:
    tags = list(metadata.get("tags") or [])
    if types and "Use Case" not in tags:
        tags.append("Use Case")
    when = source_time()
    return {
        "name": metadata["name"],
        "id": metadata["id"],
        "description": metadata["description"],
        "created": when,
        "updated": when,
        "legacy": True,
        "support": metadata["support"],
        "supportDetails": {},
        "author": metadata["author"],
        "certification": "",
        "price": 0,
        "serverMinVersion": "0.0.0",
        "currentVersion": metadata["currentVersion"],
        "tags": tags,
        "categories": metadata["categories"],
        "contentItems": {
            # Every kind of item an XSOAR pack can hold is listed, the empty ones too.
            **{kind: [] for kind in EMPTY_CONTENT_KINDS},
            "integration": [
                {
                    "name": integration["display"],
                    "description": integration["description"],
                    "category": integration["category"],
                    "commands": [
                        {"name": c["name"], "description": c.get("description", "")}
                        for c in integration["script"].get("commands") or []
                    ],
                }
            ],
            "incidentfield": [
                {"name": f["name"], "type": f["type"], "description": f.get("description", "")}
                for f in fields.values()
            ],
            "incidenttype": [
                {"name": t["name"], "playbook": t.get("playbookId", ""), "closureScript": t.get("closureScript", ""),
                 "hours": t.get("hours", 0), "days": t.get("days", 0), "weeks": t.get("weeks", 0)}
                for t in types.values()
            ],
            "classifier": [{"name": m["name"], "description": m.get("description", "")} for m in mappers.values()],
        },
        "useCases": metadata.get("useCases", []),
        "keywords": metadata.get("keywords", []),
        "dependencies": metadata.get("dependencies", {}),
    }


# ---------------------------------------------------------------------------------------------


def build(out: Path) -> tuple[Path, Path]:
    pack = load_json(PACK_SRC / "pack.json")
    pack_id = pack["pack_id"]
    version = crate_version()
    fills = {"@version": version, "@fromVersion": pack["fromVersion"]}

    integration_src = yaml.safe_load((ROOT / "integration.yml").read_text(encoding="utf-8"))
    predefined = predefined_values(integration_src)

    metadata = fill(load_json(PACK_SRC / "pack_metadata.json"), fills, predefined)
    notes = PACK_SRC / "ReleaseNotes" / f"{version.replace('.', '_')}.md"
    if not notes.is_file():
        raise BuildError(
            f"pack/ReleaseNotes/{notes.name} is missing: the pack version is Cargo.toml's {version}, "
            "and every version needs its release notes"
        )
    types = content_items("IncidentTypes", fills, predefined)
    fields = content_items("IncidentFields", fills, predefined)
    mappers = content_items("Classifiers", fills, predefined)
    split, unified, code, description_md = integration_docs(integration_src, pack, fills, types, mappers)

    folder = pack["integration"]["folder"]
    files: dict[str, bytes] = {}  # path inside the pack -> content, for the split layout
    text = lambda s: s.encode("utf-8")  # noqa: E731
    files["pack_metadata.json"] = text(dump_json(metadata))
    # Kept (empty) because the content repository's layout has them; not part of the upload.
    files[".pack-ignore"] = (PACK_SRC / ".pack-ignore").read_bytes()
    files[".secrets-ignore"] = (PACK_SRC / ".secrets-ignore").read_bytes()
    files["README.md"] = text(
        pack_readme((PACK_SRC / "README.md").read_text(encoding="utf-8"), (ROOT / "README.md").read_text(encoding="utf-8"))
    )
    for path in sorted((PACK_SRC / "ReleaseNotes").glob("*.md")):
        files[f"ReleaseNotes/{path.name}"] = path.read_bytes()
    for kind, items in (("IncidentTypes", types), ("IncidentFields", fields), ("Classifiers", mappers)):
        for name, doc in items.items():
            files[f"{kind}/{name}"] = text(dump_json(doc))
    base = f"Integrations/{folder}/{folder}"
    files[f"{base}.yml"] = text(dump_yaml(split))
    files[f"{base}.py"] = text(code)
    files[f"{base}_description.md"] = text(description_md)
    files[f"{base}_image.png"] = logo_png()
    files[f"Integrations/{folder}/README.md"] = text(integration_readme(split))

    pack_dir = out / pack_id
    if pack_dir.exists():
        shutil.rmtree(pack_dir)
    for rel, content in files.items():
        target = pack_dir / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(content)

    # The uploadable zip, laid out as demisto-sdk's zip-packs lays it out.
    zipped = {}
    for rel, content in files.items():
        if rel.startswith("Integrations/") or rel.startswith("."):
            continue
        if rel.startswith("Classifiers/"):
            # zip-packs names mappers classifier-mapper-<file>.
            rel = "Classifiers/classifier-mapper-" + rel.removeprefix("Classifiers/")
        zipped[rel] = content
    zipped[f"Integrations/integration-{folder}.yml"] = text(dump_yaml(unified))
    metadata["id"] = pack_id
    zipped["metadata.json"] = text(dump_json(marketplace_metadata(metadata, unified, types, fields, mappers)))
    zip_path = out / f"{pack_id}.zip"
    partial = zip_path.with_suffix(".zip.part")
    with zipfile.ZipFile(partial, "w", zipfile.ZIP_DEFLATED) as archive:
        for rel in sorted(zipped):
            info = zipfile.ZipInfo(rel, ZIP_TIME)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            archive.writestr(info, zipped[rel])
    partial.replace(zip_path)
    return pack_dir, zip_path


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=ROOT / "target" / "pack")
    args = parser.parse_args()
    try:
        args.out.mkdir(parents=True, exist_ok=True)
        pack_dir, zip_path = build(args.out.resolve())
    except BuildError as err:
        print(f"build-pack: {err}", file=sys.stderr)
        return 1
    print(f"build-pack: {pack_dir}")
    print(f"build-pack: {zip_path} ({zip_path.stat().st_size} bytes)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
