// The web page's segment counter (web/segments.js) against the vectors the server's counter
// (src/core/segments.cc) is also tested with (tests/core/segments_test.cc).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { SOURCE_DIR } from './harness.mjs';
import { countSegments } from '../../web/segments.js';

const vectors = JSON.parse(readFileSync(join(SOURCE_DIR, 'tests', 'data', 'segment_vectors.json'), 'utf8'));

for (const v of vectors) {
  test(`segments: ${v.name}`, () => {
    const got = countSegments(v.text);
    assert.deepEqual([got.encoding, got.characters, got.segments], [v.encoding, v.characters, v.segments]);
  });
}
