// tlv.c — a small, deliberately fragile decoder to run under `plugin-run harness`.
// Input is a sequence of records: type (1 byte), length (1 byte), value (length bytes).
// Known types: 0 padding, 1 text (any bytes), 2 uint32 (exactly 4 bytes, little-endian).
//
// Two bugs the harness pins down: a record of an unknown type calls a NULL handler from the
// dispatch table, so the process dies with SIGSEGV; a padding record (type 0) never advances,
// so the loop spins forever. In-process either takes the caller down; under airlock each is
// one outcome (CRASHED, TIMEOUT) and the next call gets a fresh worker.
//
//   cc -shared -fPIC -O2 -o libtlv.so tlv.c          # or: npm run fixtures
#include <stddef.h>
#include <stdint.h>

#define EXPORT __attribute__((visibility("default")))

typedef int (*handler)(const uint8_t *value, size_t len);

static int text_record(const uint8_t *value, size_t len) { (void)value; (void)len; return 0; }
static int uint32_record(const uint8_t *value, size_t len) { (void)value; return len == 4 ? 0 : -1; }

// Indexed by record type; unknown types are NULL (and called anyway: the bug).
static const handler HANDLERS[256] = { [1] = text_record, [2] = uint32_record };

// Counts the records of a buffer; -1 when a record is truncated or malformed.
EXPORT int tlv_count(const uint8_t *data, size_t len) {
  size_t at = 0;
  int count = 0;
  while (at < len) {
    if (len - at < 2) return -1;
    uint8_t type = data[at], size = data[at + 1];
    if (type == 0) { /* padding; the bug: `at` is not advanced (the barrier keeps the compiler from assuming the loop ends) */
      __asm__ volatile("" ::: "memory");
      continue;
    }
    if (len - at - 2 < size) return -1;
    if (HANDLERS[type](data + at + 2, size) != 0) return -1;
    count++;
    at += 2 + (size_t)size;
  }
  return count;
}

// Sums the values of the uint32 records (64-bit, so large sums stay exact).
EXPORT uint64_t tlv_sum(const uint8_t *data, size_t len) {
  uint64_t sum = 0;
  for (size_t at = 0; at + 2 <= len && at + 2 + data[at + 1] <= len; at += 2 + (size_t)data[at + 1]) {
    if (data[at] == 2 && data[at + 1] == 4) {
      const uint8_t *v = data + at + 2;
      sum += (uint64_t)v[0] | (uint64_t)v[1] << 8 | (uint64_t)v[2] << 16 | (uint64_t)v[3] << 24;
    }
  }
  return sum;
}
