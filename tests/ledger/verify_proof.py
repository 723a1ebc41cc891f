#!/usr/bin/env python3
"""Checks an smsconsent proof document or consistency document without smsconsent's code.

Written from docs/ledger.md ("The ledger as a Merkle tree", "Proofs a third party can check")
alone, with nothing but the Python standard library and the `cryptography` package's Ed25519:

    verify_proof.py proof FILE --public-key KEY
    verify_proof.py consistency FILE --public-key KEY

KEY is base64 of the installation's raw 32-byte Ed25519 public key, or the path of a
"PUBLIC KEY" PEM file. Prints "ok: ..." and exits 0 when the document is valid; prints each
problem and exits 1 otherwise (2 for unusable arguments).
"""

import argparse
import base64
import hashlib
import json
import sys

from cryptography.hazmat.primitives.asymmetric import ed25519

V1_FIELDS = ("account", "seq", "contact", "phone", "number", "sender", "from", "to",
             "source", "actor", "at", "evidence", "prev")
V2_FIELDS = V1_FIELDS[:6] + ("nth",) + V1_FIELDS[6:-1] + ("batch",)
HEADERS = {1: b"smsconsent-ledger-v1\n", 2: b"smsconsent-ledger-v2\n"}
# DER of an Ed25519 SubjectPublicKeyInfo up to the 32 key bytes (RFC 8410).
ED25519_SPKI_PREFIX = bytes.fromhex("302a300506032b6570032100")
HEX_DIGITS = "0123456789abcdef"


def sha256(data):
    return hashlib.sha256(data).digest()


def leaf_hash(data):
    return sha256(b"\x00" + data)


def node_hash(left, right):
    return sha256(b"\x01" + left + right)


def split(n):
    """The largest power of two smaller than n (n > 1)."""
    k = 1
    while k * 2 < n:
        k *= 2
    return k


def is_int(v):
    return isinstance(v, int) and not isinstance(v, bool)


def parse_hash(v):
    """64 lowercase hex digits -> 32 bytes, else None."""
    if not isinstance(v, str) or len(v) != 64 or any(c not in HEX_DIGITS for c in v):
        return None
    return bytes.fromhex(v)


def parse_hash_list(v):
    if not isinstance(v, list):
        return None
    out = [parse_hash(h) for h in v]
    return None if any(h is None for h in out) else out


def strict_b64(text):
    """Standard base64 with padding, only in its one canonical spelling; else None."""
    if not isinstance(text, str):
        return None
    try:
        raw = base64.b64decode(text.encode("ascii"), validate=True)
    except Exception:
        return None
    return raw if base64.b64encode(raw).decode("ascii") == text else None


def load_public_key(arg):
    """Raw 32 bytes from base64 text or a PEM file path (or PEM text)."""
    text = arg
    if "-----BEGIN" not in arg:
        try:
            with open(arg, "r", encoding="ascii") as f:
                text = f.read()
        except OSError:
            text = arg
    if "-----BEGIN PUBLIC KEY-----" in text:
        body = text.split("-----BEGIN PUBLIC KEY-----", 1)[1].split("-----END PUBLIC KEY-----")[0]
        der = strict_b64("".join(body.split()))
        if der is None or len(der) != 44 or not der.startswith(ED25519_SPKI_PREFIX):
            raise ValueError("not an Ed25519 PUBLIC KEY PEM block")
        return der[len(ED25519_SPKI_PREFIX):]
    raw = strict_b64(text.strip())
    if raw is None or len(raw) != 32:
        raise ValueError("the public key is neither base64 of 32 bytes nor a PEM block")
    return raw


def length_prefixed(name, value):
    return name.encode() + b":" + str(len(value)).encode() + b":" + value + b"\n"


def head_bytes(account, size, root_hex, at):
    return (b"smsconsent-tree-head-v1\n" + length_prefixed("account", str(account).encode()) +
            length_prefixed("size", str(size).encode()) +
            length_prefixed("root", root_hex.encode()) + length_prefixed("at", str(at).encode()))


def check_head(head, label, key, problems):
    """Returns (size, root bytes) of a well-formed head, adding problems; None if malformed."""
    if not isinstance(head, dict):
        problems.append(f"{label}: missing or not an object")
        return None
    for name in ("account", "size", "at"):
        if not is_int(head.get(name)):
            problems.append(f"{label}: {name} is not an integer")
            return None
    if head["size"] < 0:
        problems.append(f"{label}: size is negative")
        return None
    root = parse_hash(head.get("root"))
    if root is None:
        problems.append(f"{label}: root is not 64 lowercase hex digits")
        return None
    if not isinstance(head.get("key_id"), str):
        problems.append(f"{label}: key_id is not a string")
        return None
    signature = strict_b64(head.get("signature"))
    if signature is None or len(signature) != 64:
        problems.append(f"{label}: signature is not base64 of 64 bytes")
        return None
    if head["key_id"] != hashlib.sha256(key).hexdigest():
        problems.append(f"{label}: key_id does not name the given public key")
    else:
        message = head_bytes(head["account"], head["size"], head["root"], head["at"])
        try:
            ed25519.Ed25519PublicKey.from_public_bytes(key).verify(signature, message)
        except Exception:
            problems.append(f"{label}: the signature does not verify with the given public key")
    return head["size"], root


def root_from_inclusion(index, size, leaf, path):
    """Rebuilds the root along the RFC's PATH definition; the last path entry is the top
    sibling. None when the path has the wrong length for (index, size)."""
    if size == 1:
        return leaf if not path else None
    if not path:
        return None
    k = split(size)
    if index < k:
        below = root_from_inclusion(index, k, leaf, path[:-1])
        return None if below is None else node_hash(below, path[-1])
    below = root_from_inclusion(index - k, size - k, leaf, path[:-1])
    return None if below is None else node_hash(path[-1], below)


def verify_inclusion(leaf, index, size, path, root):
    if not 0 <= index < size:
        return False
    return root_from_inclusion(index, size, leaf, path) == root


def consistency_roots(m, n, whole, old_root, path):
    """Follows the RFC's SUBPROOF(m, D[n], whole), consuming `path` from its end. Returns the
    (old tree part, new tree part) hashes it implies, or None."""
    if m == n:
        if whole:
            return old_root, old_root
        if not path:
            return None
        h = path.pop()
        return h, h
    if not path:
        return None
    top = path.pop()
    k = split(n)
    if m <= k:
        inner = consistency_roots(m, k, whole, old_root, path)
        return None if inner is None else (inner[0], node_hash(inner[1], top))
    inner = consistency_roots(m - k, n - k, False, old_root, path)
    return None if inner is None else (node_hash(top, inner[0]), node_hash(top, inner[1]))


def verify_consistency(m, n, old_root, new_root, proof):
    if m < 1 or m > n:
        return False
    if m == n:
        return not proof and old_root == new_root
    path = list(proof)
    roots = consistency_roots(m, n, True, old_root, path)
    return roots is not None and not path and roots == (old_root, new_root)


def parse_encoding(data):
    """(version, {field: bytes}) of a well-formed leaf encoding, or a string saying why not."""
    for version, header in HEADERS.items():
        if data.startswith(header):
            break
    else:
        return "it does not start with smsconsent-ledger-v1 or -v2"
    names = V1_FIELDS if version == 1 else V2_FIELDS
    pos = len(header)
    fields = {}
    for name in names:
        tag = name.encode() + b":"
        if data[pos:pos + len(tag)] != tag:
            return f"field {name} is missing or out of order"
        pos += len(tag)
        end = data.find(b":", pos)
        digits = data[pos:end] if end >= 0 else b""
        if not digits or not digits.isdigit() or (len(digits) > 1 and digits[:1] == b"0"):
            return f"field {name} has a bad length"
        length = int(digits)
        start = end + 1
        if data[start + length:start + length + 1] != b"\n":
            return f"field {name}'s value does not end where its length says"
        fields[name] = data[start:start + length]
        pos = start + length + 1
    if pos != len(data):
        return "bytes follow the last field"
    return version, fields


def check_proof(doc, key):
    problems = []
    if not isinstance(doc, dict):
        return ["the document is not a JSON object"], 0
    if doc.get("format") != "smsconsent-proof-v2":
        return ["format is not smsconsent-proof-v2"], 0
    account = doc.get("account")
    if not is_int(account):
        problems.append("account is not an integer")
        account = None
    contact = doc.get("contact") if isinstance(doc.get("contact"), dict) else {}
    contact_id = contact.get("id") if is_int(contact.get("id")) else None
    phone = contact.get("phone") if isinstance(contact.get("phone"), str) else None
    if contact_id is None:
        problems.append("contact.id is not an integer")
    if phone is None:
        problems.append("contact.phone is not a string")
    head = check_head(doc.get("tree_head"), "tree head", key, problems)
    if head is not None and account is not None and doc["tree_head"]["account"] != account:
        problems.append("tree head: its account is not the document's account")
    batches = doc.get("batches")
    if not isinstance(batches, dict):
        problems.append("batches is not an object")
        batches = {}
    for name, text in batches.items():
        if not isinstance(text, str):
            problems.append(f"batch {name}: not a string")
        elif hashlib.sha256(text.encode("utf-8")).hexdigest() != name:
            problems.append(f"batch {name}: its text has another SHA-256")
    events = doc.get("events")
    if not isinstance(events, list):
        problems.append("events is not an array")
        return problems, 0
    good = 0
    previous = 0
    # Per sender number, the contact's events seen so far: a format-2 event's nth must be the
    # next one, so that none of the pair's events is missing from the proof.
    seen = {}
    for position, event in enumerate(events, 1):
        if not isinstance(event, dict) or not is_int(event.get("seq")) or event["seq"] < 1:
            problems.append(f"event {position} of the list: seq is not an integer >= 1")
            continue
        seq = event["seq"]
        where = f"event seq {seq}: "
        before = len(problems)
        if seq <= previous:
            problems.append(where + f"not after the previous event's seq {previous}")
        previous = seq
        fmt = event.get("format")
        if not is_int(fmt) or fmt not in (1, 2):
            problems.append(where + "format is not 1 or 2")
        encoding = event.get("encoding")
        if not isinstance(encoding, str):
            problems.append(where + "encoding is not a string")
            continue
        try:
            data = encoding.encode("utf-8")
        except UnicodeEncodeError:
            problems.append(where + "encoding is not valid text")
            continue
        parsed = parse_encoding(data)
        if isinstance(parsed, str):
            problems.append(where + "malformed encoding: " + parsed)
        else:
            version, fields = parsed
            if is_int(fmt) and version != fmt:
                problems.append(where + f"format {fmt} with a v{version} encoding")
            if account is not None and fields["account"] != str(account).encode():
                problems.append(where + "its account is not the document's account")
            if contact_id is not None and fields["contact"] != str(contact_id).encode():
                problems.append(where + "its contact is not the document's contact")
            if phone is not None and fields["phone"] != phone.encode("utf-8"):
                problems.append(where + "its phone is not the contact's phone")
            if fields["seq"] != str(seq).encode():
                problems.append(where + "the encoding has another seq")
            if contact_id is None or fields["contact"] == str(contact_id).encode():
                count = seen.get(fields["number"], 0) + 1
                seen[fields["number"]] = count
                if version == 2 and fields["nth"] != str(count).encode():
                    problems.append(where + f"its number's event {count} is missing "
                                    "from the proof")
                    if fields["nth"].isdigit():
                        seen[fields["number"]] = int(fields["nth"])
            if version == 2 and fields["batch"] and fields["batch"].decode("utf-8", "replace") \
                    not in batches:
                problems.append(where + "its batch document is not in batches")
        path = parse_hash_list(event.get("inclusion"))
        if path is None:
            problems.append(where + "inclusion is not an array of 64-digit lowercase hex hashes")
        elif head is not None:
            size, root = head
            if seq > size:
                problems.append(where + f"beyond the tree head's size {size}")
            elif not verify_inclusion(leaf_hash(data), seq - 1, size, path, root):
                problems.append(where + "inclusion proof does not lead to the tree head's root")
        if len(problems) == before:
            good += 1
    return problems, good


def check_consistency(doc, key):
    problems = []
    if not isinstance(doc, dict):
        return ["the document is not a JSON object"], None
    if doc.get("format") != "smsconsent-consistency-v1":
        return ["format is not smsconsent-consistency-v1"], None
    account = doc.get("account")
    if not is_int(account):
        problems.append("account is not an integer")
        account = None
    old = check_head(doc.get("from"), "from", key, problems)
    new = check_head(doc.get("to"), "to", key, problems)
    for label, head in (("from", old), ("to", new)):
        if head is not None and account is not None and doc[label]["account"] != account:
            problems.append(f"{label}: its account is not the document's account")
    proof = parse_hash_list(doc.get("proof"))
    if proof is None:
        problems.append("proof is not an array of 64-digit lowercase hex hashes")
    if old is not None and new is not None and proof is not None:
        (m, old_root), (n, new_root) = old, new
        if m > n:
            problems.append(f"from.size {m} is larger than to.size {n}")
        elif m == 0:
            if old_root != sha256(b"") or proof:
                problems.append("from: an empty tree has root SHA-256(\"\") and an empty proof")
        elif not verify_consistency(m, n, old_root, new_root, proof):
            problems.append(f"the consistency proof does not show that size {n} extends size {m}")
    sizes = (old[0], new[0]) if old is not None and new is not None else None
    return problems, sizes


def main(argv):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("kind", choices=("proof", "consistency"))
    parser.add_argument("file")
    parser.add_argument("--public-key", required=True,
                        help="base64 of the raw 32-byte Ed25519 key, or a PEM file's path")
    args = parser.parse_args(argv)
    try:
        key = load_public_key(args.public_key)
    except ValueError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    try:
        with open(args.file, "r", encoding="utf-8") as f:
            doc = json.load(f)
    except (OSError, ValueError) as e:
        print(f"error: cannot read {args.file}: {e}", file=sys.stderr)
        return 2
    if args.kind == "proof":
        problems, count = check_proof(doc, key)
        ok_line = f"ok: {count} events"
    else:
        problems, sizes = check_consistency(doc, key)
        ok_line = f"ok: size {sizes[1]} extends size {sizes[0]}" if sizes else ""
    if problems:
        for p in problems:
            print(p)
        return 1
    print(ok_line)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
