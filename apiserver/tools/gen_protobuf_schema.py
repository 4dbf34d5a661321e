#!/usr/bin/env python3
"""Generates apiserver/src/protobuf/schema.rs, the protobuf schema of the
Kubernetes built-in types that `mars_apiserver::protobuf` decodes with.

Two crates from the local cargo registry are joined:

* k8s-pb 0.9.0 (prost-generated) gives every message, its field numbers and
  wire types (`#[prost(string, optional, tag = "1")] pub name: ...`).
* k8s-openapi 0.29.0 gives the JSON names of the fields, which prost's
  snake_casing loses (`hostIP` -> `host_ip`, `podIPs` -> `pod_i_ps`): its
  Deserialize impls map `"hostIP" => Field::Key_host_ip`.

Messages are joined by (package, type name) and fields by Rust name, then by
the name with case and punctuation ignored. A field neither finds is named
lowerCamelCase from its prost name and listed on stdout for review.

Usage: python3 apiserver/tools/gen_protobuf_schema.py [--check]
(--check compares with the checked-in file instead of writing it).
The output is deterministic: running it again gives the same file.
"""

import glob
import os
import re
import sys

PB_CRATE = "k8s-pb-0.9.0"
OPENAPI_CRATE = "k8s-openapi-0.29.0"
# The first version is the one Mars serves; the later ones only add types.
OPENAPI_VERSIONS = ["v1_33", "v1_34", "v1_35", "v1_36", "v1_37"]
PB_ROOTS = ["api", "apimachinery", "apiextensions_apiserver", "kube_aggregator", "metrics"]

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "..", "src", "protobuf", "schema.rs")

META = "k8s.io.apimachinery.pkg.apis.meta.v1"
APIEXT = "k8s.io.apiextensions_apiserver.pkg.apis.apiextensions"

# Messages whose JSON form is not their fields' (custom MarshalJSON in Go).
SPECIALS = {
    META + ".Time": "Time",
    META + ".MicroTime": "MicroTime",
    META + ".Duration": "Duration",
    META + ".FieldsV1": "RawJson",
    META + ".Verbs": "StringList",
    "k8s.io.apimachinery.pkg.api.resource.Quantity": "Quantity",
    "k8s.io.apimachinery.pkg.api.resource.QuantityValue": "Quantity",
    "k8s.io.apimachinery.pkg.util.intstr.IntOrString": "IntOrString",
    "k8s.io.apimachinery.pkg.runtime.RawExtension": "RawExtension",
}
for _v in ("v1", "v1beta1"):
    SPECIALS[f"{APIEXT}.{_v}.JSON"] = "RawJson"
    SPECIALS[f"{APIEXT}.{_v}.JSONSchemaPropsOrArray"] = "SchemaOrArray"
    SPECIALS[f"{APIEXT}.{_v}.JSONSchemaPropsOrBool"] = "SchemaOrBool"
    SPECIALS[f"{APIEXT}.{_v}.JSONSchemaPropsOrStringArray"] = "SchemaOrStringArray"
    for _g in ("authentication", "authorization", "certificates"):
        SPECIALS[f"k8s.io.api.{_g}.{_v}.ExtraValue"] = "StringList"


def die(msg):
    sys.stderr.write(f"gen_protobuf_schema: {msg}\n")
    sys.exit(1)


def find_crate(name):
    cargo_home = os.environ.get("CARGO_HOME") or os.path.expanduser("~/.cargo")
    hits = sorted(glob.glob(os.path.join(cargo_home, "registry", "src", "*", name)))
    if not hits:
        die(f"{name} is not in {cargo_home}/registry/src/*/ (run `cargo fetch` in the workspace)")
    return os.path.join(hits[0], "src")


def norm(name):
    """A name with case and everything but letters and digits dropped."""
    return re.sub(r"[^a-z0-9]", "", name.lower())


def lower_camel(snake):
    parts = [p for p in snake.split("_") if p]
    if not parts:
        return snake
    return parts[0] + "".join(p[:1].upper() + p[1:] for p in parts[1:])


# ---------------------------------------------------------------- k8s-pb

SCALARS = {"string": "Str", "bool": "Bool", "int32": "I32", "int64": "I64", "double": "F64"}
WRAPPERS = {"Option", "Vec", "Box", "BTreeMap", "String", "i32", "i64", "f64", "bool", "u8"}
PATH_RE = re.compile(r"(?:(?:crate|super|\w+)::)*[A-Za-z_]\w*")


def strip_comments(text):
    return "\n".join(line for line in text.split("\n") if not line.lstrip().startswith("//"))


def resolve(type_text, module):
    """The full (package, name) of the message a field's Rust type names."""
    candidates = []
    for m in PATH_RE.finditer(type_text):
        segs = m.group(0).split("::")
        if segs[-1] in WRAPPERS or segs[0] in ("core", "prost", "alloc"):
            continue
        candidates.append(segs)
    if not candidates:
        die(f"no message type in `{type_text}` ({'.'.join(module)})")
    segs = candidates[-1]  # a map's value comes after its key
    base = list(module)
    if segs[0] == "crate":
        base, segs = [], segs[1:]
    while segs and segs[0] == "super":
        base, segs = base[:-1], segs[1:]
    return "k8s.io." + ".".join(base + segs[:-1]), segs[-1]


def parse_attr(attr, type_text, module):
    """(kind, repeated, target) of a prost attribute; target is (pkg, name) for messages."""
    parts = [p.strip() for p in attr.split(",")]
    m = re.match(r'btree_map = "(\w+), (\w+)"', attr)
    if m:
        key, value = m.group(1), m.group(2)
        if key != "string":
            die(f"map key {key} is not supported ({attr})")
        if value == "string":
            return "MapStr", False, None
        if value == "bytes":
            return "MapBytes", False, None
        if value == "message":
            return "MapMsg", False, resolve(type_text, module)
        die(f"map value {value} is not supported ({attr})")
    head = parts[0]
    label = parts[1] if len(parts) > 1 else ""
    if label not in ("optional", "repeated"):
        die(f"unexpected prost attribute `{attr}`")
    repeated = label == "repeated"
    if head == "message":
        return "Msg", repeated, resolve(type_text, module)
    if head == 'bytes = "vec"':
        return "Bytes", repeated, None
    if head in SCALARS:
        return SCALARS[head], repeated, None
    die(f"unexpected prost attribute `{attr}`")


def parse_pb(root):
    messages = {}  # (pkg, pb name) -> list of fields
    resources = []  # (pkg, group, version)
    for top in PB_ROOTS:
        for path in sorted(glob.glob(os.path.join(root, top, "**", "mod.rs"), recursive=True)):
            module = os.path.relpath(os.path.dirname(path), root).split(os.sep)
            pkg = "k8s.io." + ".".join(module)
            text = strip_comments(open(path, encoding="utf-8").read())
            if re.search(r"prost::(Oneof|Enumeration)", text):
                die(f"{path} uses oneofs or enums, which the decoder does not support")
            for sm in re.finditer(
                r"#\[derive\([^)]*::prost::Message\)\]\s*pub struct (\w+) \{(\}|.*?\n\})", text, re.S
            ):
                name, body = sm.group(1), sm.group(2)
                fields = []
                for chunk in body.split("#[prost(")[1:]:
                    fm = re.match(r"(.*?)\)\]\s*pub (?:r#)?(\w+):\s*(.*?),?\s*$", chunk, re.S)
                    if not fm:
                        die(f"cannot parse a field of {pkg}.{name}: {chunk[:80]!r}")
                    attr, fname, type_text = fm.group(1), fm.group(2), " ".join(fm.group(3).split())
                    tm = re.search(r'tag = "(\d+)"', attr)
                    if not tm:
                        die(f"no tag in `{attr}` ({pkg}.{name}.{fname})")
                    kind, repeated, target = parse_attr(attr, type_text, module)
                    fields.append(
                        {"tag": int(tm.group(1)), "rust": fname, "kind": kind, "repeated": repeated, "target": target}
                    )
                if (pkg, name) in messages:
                    die(f"{pkg}.{name} is defined twice")
                messages[(pkg, name)] = sorted(fields, key=lambda f: f["tag"])
            for im in re.finditer(r"impl crate::Resource for (\w+) \{(.*?)\n\}", text, re.S):
                consts = dict(re.findall(r'const (\w+): &\'static str = "([^"]*)";', im.group(2)))
                if "GROUP" in consts and "VERSION" in consts:
                    resources.append((pkg, consts["GROUP"], consts["VERSION"]))
            # Everything prost derived must have been understood.
            parsed = [k for k in messages if k[0] == pkg]
            if len(parsed) != text.count("::prost::Message)]"):
                die(f"{path}: parsed {len(parsed)} of {text.count('::prost::Message)]')} messages")
            nfields = sum(len(messages[k]) for k in parsed)
            if nfields != text.count("#[prost("):
                die(f"{path}: parsed {nfields} of {text.count('#[prost(')} fields")
    return messages, resources


# ----------------------------------------------------------- k8s-openapi


def openapi_package(definition_pkg):
    """`io.k8s.apiextensions-apiserver.pkg...` -> `k8s.io.apiextensions_apiserver.pkg...`."""
    parts = definition_pkg.split(".")
    if parts[:2] != ["io", "k8s"] or len(parts) < 3:
        return None
    return ".".join(["k8s", "io", parts[2].replace("-", "_")] + parts[3:])


def parse_openapi(root):
    types = {}  # (pkg, lower name) -> (name, [(json, rust)])
    for version in OPENAPI_VERSIONS:
        vroot = os.path.join(root, version)
        if not os.path.isdir(vroot):
            die(f"{vroot} is missing")
        for path in sorted(glob.glob(os.path.join(vroot, "**", "*.rs"), recursive=True)):
            text = open(path, encoding="utf-8").read()
            dm = re.match(r"// Generated from definition (\S+)", text)
            if not dm:
                continue
            def_pkg, name = dm.group(1).rsplit(".", 1)
            pkg = openapi_package(def_pkg)
            if pkg is None:
                continue
            keys = re.findall(r'"([^"]+)" => Field::Key_(\w+),', text)
            key = (pkg, name.lower())
            if key not in types:
                types[key] = (name, keys)
            else:  # a later version may add fields
                known = {j for j, _ in types[key][1]}
                types[key][1].extend(k for k in keys if k[0] not in known)
    return types


# ------------------------------------------------------------------ join


def field_names(keys):
    """Lookups of a type's JSON names by Rust name and by normalized name."""
    by_rust = {rust.rstrip("_"): js for js, rust in keys}
    by_norm = {}
    for js, _ in keys:
        by_norm.setdefault(norm(js), set()).add(js)
    return by_rust, by_norm


def lookup(rust, names):
    by_rust, by_norm = names
    if rust in by_rust:
        return by_rust[rust]
    cands = by_norm.get(norm(rust), set())
    return next(iter(cands)) if len(cands) == 1 else None


def join(pb_messages, openapi_types):
    """Names every message and field. A field's JSON name comes, in order, from
    its own type in k8s-openapi, from the same-named type of another version
    of its API group (k8s-openapi 0.29 has no v1beta1 RBAC, for instance) or
    else of another group (extensions/v1beta1 Ingress), from
    the one spelling the name has anywhere in Kubernetes, or from lowerCamelCase.
    A message field the JSON type lacks, whose own fields the JSON type has,
    is an embedded Go struct (`json:",inline"`) and is marked Inline."""
    by_dir = {}  # (group dir, lower name) -> (name, [keys of each version])
    by_name = {}  # lower name -> (name, [keys of each package])
    everywhere = {}  # normalized JSON name -> spellings
    for (pkg, lname), (oname, keys) in sorted(openapi_types.items()):
        by_dir.setdefault((pkg.rsplit(".", 1)[0], lname), (oname, []))[1].extend(keys)
        by_name.setdefault(lname, (oname, []))[1].extend(keys)
        for js, _ in keys:
            everywhere.setdefault(norm(js), set()).add(js)

    def openapi_type(pkg, pb_name):
        """The k8s-openapi type of a message: its own, else the same-named one
        of another version of its group, else of any group."""
        lname = pb_name.lower()
        own = openapi_types.get((pkg, lname))
        sibling = by_dir.get((pkg.rsplit(".", 1)[0], lname))
        elsewhere = by_name.get(lname)
        return own, sibling, elsewhere

    names = {}  # (pkg, pb name) -> full name (the Go name where k8s-openapi has it)
    for pkg, pb_name in pb_messages:
        found = [t for t in openapi_type(pkg, pb_name) if t]
        names[(pkg, pb_name)] = f"{pkg}.{found[0][0] if found else pb_name}"
    full = sorted(names.values())
    if len(set(full)) != len(full):
        die("two messages have the same full name")
    index = {n: i for i, n in enumerate(full)}
    for (pkg, pb_name), fields in pb_messages.items():
        for f in fields:
            if f["target"] is not None and f["target"] not in names:
                t = f["target"]
                die(f"{pkg}.{pb_name}.{f['rust']} refers to {t[0]}.{t[1]}, which k8s-pb does not define")

    tiers = {"type": 0, "sibling": 0, "global": 0, "fallback": 0, "inline": 0}
    unmatched = []
    missing = []
    resolved = {}  # key -> (special, rows)
    in_progress = set()

    def json_names(key):
        """The JSON names a message contributes to an object, inlined ones included."""
        _, rows = resolve(key)
        out = set()
        for _, js, kind, _, target in rows:
            out |= json_names(full_keys[target]) if kind == "Inline" else {js}
        return out

    def resolve(key):
        if key in resolved:
            return resolved[key]
        if key in in_progress:
            return "None", []
        in_progress.add(key)
        pkg, pb_name = key
        name = names[key]
        special = SPECIALS.get(name, "None")
        ot, sib, other = openapi_type(pkg, pb_name)
        own = field_names(ot[1] if ot else [])
        sibling = field_names((sib or other or (None, []))[1])
        known = {norm(js) for js in own[0].values()} | {norm(js) for js in sibling[0].values()}
        rows = []
        used = set()
        for f in pb_messages[key]:
            rust, target = f["rust"], f["target"]
            js, tier = lookup(rust, own), "type"
            if js is None:
                js, tier = lookup(rust, sibling), "sibling"
            if (
                js is None
                and known
                and f["kind"] == "Msg"
                and not f["repeated"]
                and norm(rust) not in known
                and pb_messages[target]
                and all(norm(n) in known for n in json_names(target))
            ):
                tiers["inline"] += 1
                rows.append((f["tag"], "", "Inline", False, index[names[target]]))
                continue
            if js is None:
                spellings = everywhere.get(norm(rust), set())
                js, tier = (next(iter(spellings)), "global") if len(spellings) == 1 else (None, None)
            if js is None or js in used:
                js, tier = lower_camel(rust), "fallback"
                if special == "None":
                    unmatched.append(f"{name}.{rust} -> {js}")
            tiers[tier] += 1
            used.add(js)
            rows.append((f["tag"], js, f["kind"], f["repeated"], index[names[target]] if target else None))
        in_progress.discard(key)
        resolved[key] = (special, rows)
        if ot and special == "None":
            have = set()
            for _, js, kind, _, t in rows:
                have |= json_names(full_keys[t]) if kind == "Inline" else {js}
            lacking = sorted({js for js, _ in ot[1]} - have - {"apiVersion", "kind"})
            if lacking:
                missing.append(f"{name}: {', '.join(lacking)}")
        return resolved[key]

    full_keys = {index[n]: k for k, n in names.items()}
    out = {}
    for key in sorted(pb_messages):
        out[names[key]] = resolve(key)
    return full, out, unmatched, missing, tiers


def group_versions(pb_resources, pb_packages):
    gv = {}
    for pkg, group, version in pb_resources:
        if pkg.startswith("k8s.io.apimachinery."):
            continue
        prev = gv.get((group, version))
        if prev is not None and prev != pkg:
            die(f"{group}/{version} maps to both {prev} and {pkg}")
        gv[(group, version)] = pkg
    # Packages without a resource of their own take the group of a sibling
    # version (apps/v1beta2 is in the group of apps/v1).
    group_of_dir = {pkg.rsplit(".", 1)[0]: g for (g, _), pkg in gv.items()}
    unmapped = []
    for pkg in sorted(pb_packages):
        if pkg in gv.values() or pkg.startswith("k8s.io.apimachinery."):
            continue
        parent, version = pkg.rsplit(".", 1)
        if parent in group_of_dir and (group_of_dir[parent], version) not in gv:
            gv[(group_of_dir[parent], version)] = pkg
        else:
            unmapped.append(pkg)
    return dict(sorted(gv.items())), unmapped


# ---------------------------------------------------------------- output


def rust_str(s):
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'


def render(full, out, gv, stats):
    lines = [
        "// @generated by apiserver/tools/gen_protobuf_schema.py; do not edit.",
        f"// Field numbers and wire types: {PB_CRATE}; JSON names: {OPENAPI_CRATE}.",
        f"// {stats}",
        "",
        "#![cfg_attr(rustfmt, rustfmt::skip)]",
        "",
        "use super::types::{Kind::*, Message, Special, f, m, r};",
        "",
        "/// API group and version -> protobuf package of its kinds.",
        "pub(super) static GROUP_VERSIONS: &[(&str, &str, &str)] = &[",
    ]
    for (group, version), pkg in gv.items():
        lines.append(f"    ({rust_str(group)}, {rust_str(version)}, {rust_str(pkg)}),")
    lines += [
        "];",
        "",
        "/// Every message, sorted by full name; `Msg(i)` refers to `MESSAGES[i]`.",
        "pub(super) static MESSAGES: &[Message] = &[",
    ]
    for i, name in enumerate(full):
        special, rows = out[name]
        cells = []
        for tag, js, kind, repeated, target in rows:
            k = f"{kind}({target})" if target is not None else kind
            cells.append(f"{'r' if repeated else 'f'}({tag}, {rust_str(js)}, {k})")
        lines.append(f"    /* {i} */ m({rust_str(name)}, Special::{special}, &[{', '.join(cells)}]),")
    lines += ["];", ""]
    return "\n".join(lines)


def main():
    check = "--check" in sys.argv[1:]
    pb_messages, pb_resources = parse_pb(find_crate(PB_CRATE))
    openapi_types = parse_openapi(find_crate(OPENAPI_CRATE))
    full, out, unmatched, missing, tiers = join(pb_messages, openapi_types)
    if len(full) > 65535:
        die("too many messages for u16 indices")
    gv, unmapped = group_versions(pb_resources, {pkg for pkg, _ in pb_messages})
    nfields = sum(len(rows) for _, rows in out.values())
    stats = (
        f"{len(full)} messages, {nfields} fields (JSON names from their own type: {tiers['type']}, "
        f"another version's: {tiers['sibling']}, another type's: {tiers['global']}, "
        f"lowerCamelCase: {tiers['fallback']}; inlined structs: {tiers['inline']}), {len(gv)} group versions."
    )
    text = render(full, out, gv, stats)
    if check:
        current = open(OUT, encoding="utf-8").read() if os.path.exists(OUT) else ""
        if current != text:
            die(f"{OUT} is out of date; run {os.path.relpath(__file__)}")
    else:
        with open(OUT, "w", encoding="utf-8") as fh:
            fh.write(text)
    print(stats)
    if unmatched:
        print(f"\nFields with no JSON name in {OPENAPI_CRATE} (named lowerCamelCase):")
        for u in unmatched:
            print(f"  {u}")
    if missing:
        print(f"\nJSON fields of {OPENAPI_CRATE} types that their protobuf messages lack:")
        for m in missing:
            print(f"  {m}")
    if unmapped:
        print("\nPackages no API group maps to (their kinds are only reachable by reference):")
        for p in unmapped:
            print(f"  {p}")


if __name__ == "__main__":
    main()
