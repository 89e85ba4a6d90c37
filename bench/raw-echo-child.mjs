// Baseline peer for big buffers: reads one message (an 8-byte little-endian length, then that
// many bytes) from stdin, holds it whole, and writes it back the same way. Store and forward,
// like a call: the whole request is in before the reply starts. No JSON, no encoding.
const chunks = [];
let buffered = 0;
let length = -1;
process.stdin.on('data', (chunk) => {
  chunks.push(chunk);
  buffered += chunk.length;
  for (;;) {
    if (length < 0) {
      if (buffered < 8) return;
      const joined = Buffer.concat(chunks, buffered);
      chunks.length = 0;
      chunks.push(joined);
      length = Number(joined.readBigUInt64LE(0));
      continue;
    }
    if (buffered < 8 + length) return;
    const joined = Buffer.concat(chunks, buffered);
    chunks.length = 0;
    const rest = joined.subarray(8 + length);
    if (rest.length > 0) chunks.push(rest);
    buffered = rest.length;
    process.stdout.write(joined.subarray(0, 8 + length));
    length = -1;
  }
});
