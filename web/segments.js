// SMS segment counting for the live counter: the same rules as the server's
// src/core/segments.cc (GSM 03.38). A text whose every character is in the GSM-7 alphabet or
// its extension table is GSM-7 (extension characters cost two septets); otherwise UCS-2, where
// every UTF-16 code unit counts. One part holds 160 septets / 70 units; a multi-part message
// holds 153 / 67 per part, and a two-unit character is never split across parts.
// tests/data/segment_vectors.json pins both implementations to the same answers.

const GSM_LATIN1 = new Set([0xA1, 0xA3, 0xA4, 0xA5, 0xA7, 0xBF, 0xC4, 0xC5, 0xC6, 0xC7, 0xC9,
  0xD1, 0xD6, 0xD8, 0xDC, 0xDF, 0xE0, 0xE4, 0xE5, 0xE6, 0xE8, 0xE9, 0xEC, 0xF1, 0xF2, 0xF6,
  0xF8, 0xF9, 0xFC]);
const GSM_GREEK = new Set([0x393, 0x394, 0x398, 0x39B, 0x39E, 0x3A0, 0x3A3, 0x3A6, 0x3A8, 0x3A9]);
const GSM_EXTENSION = new Set(['^', '{', '}', '\\', '[', '~', ']', '|', '\f', '€'].map((c) => c.codePointAt(0)));

// Septets a code point costs in GSM-7, or 0 when GSM-7 cannot carry it.
function septets(cp) {
  if (GSM_EXTENSION.has(cp)) return 2;
  if (cp === 0x0A || cp === 0x0D) return 1;
  if (cp >= 0x20 && cp <= 0x7E) return cp === 0x60 ? 0 : 1;  // all printable ASCII but `
  if (GSM_LATIN1.has(cp) || GSM_GREEK.has(cp)) return 1;
  return 0;
}

function pack(costs, capacity) {
  let parts = 1;
  let used = 0;
  for (const c of costs) {
    if (used + c > capacity) { parts += 1; used = 0; }
    used += c;
  }
  return parts;
}

// → {encoding: 'GSM-7'|'UCS-2', characters, code_points, segments, per_segment}
export function countSegments(text) {
  if (!text) return { encoding: 'GSM-7', characters: 0, code_points: 0, segments: 0, per_segment: 160 };
  const gsm = [];
  const units = [];
  let allGsm = true;
  for (const ch of text) {
    let cp = ch.codePointAt(0);
    if (cp >= 0xD800 && cp <= 0xDFFF) cp = 0xFFFD;  // a lone surrogate: as invalid input
    const s = septets(cp);
    if (s === 0) allGsm = false;
    gsm.push(s);
    units.push(cp > 0xFFFF ? 2 : 1);
  }
  const codePoints = units.length;
  const sum = (a) => a.reduce((x, y) => x + y, 0);
  if (allGsm) {
    const n = sum(gsm);
    return n <= 160
      ? { encoding: 'GSM-7', characters: n, code_points: codePoints, segments: 1, per_segment: 160 }
      : { encoding: 'GSM-7', characters: n, code_points: codePoints, segments: pack(gsm, 153), per_segment: 153 };
  }
  const n = sum(units);
  return n <= 70
    ? { encoding: 'UCS-2', characters: n, code_points: codePoints, segments: 1, per_segment: 70 }
    : { encoding: 'UCS-2', characters: n, code_points: codePoints, segments: pack(units, 67), per_segment: 67 };
}
