// The vAccel exec example: `mytestfunc` reads one int32 and writes it doubled.
//
//   cc -shared -fPIC -O2 -o libmytestlib.so mytestlib.c
//
// vAccel's exec ABI: int fn(struct vaccel_arg *read, size_t nr_read, struct vaccel_arg *write, size_t nr_write),
// 0 meaning success and an errno value (EINVAL …) meaning failure. This file uses the layout of
// struct vaccel_arg of vAccel's main branch; build with -DVACCEL_V07 for the layout of v0.7.
// airlock reads the layout from what a library imports: one built against vAccel imports its
// helpers (vaccel_arg_array_* on main, vaccel_extract_serial_arg … in v0.7). This one needs no
// libvaccel, so it keeps a weak, unresolved reference to its version's helper to say which.
#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define VACCEL_ARG_INT32 5

#ifdef VACCEL_V07
struct vaccel_arg {
  uint32_t argtype;
  uint32_t size;
  void *buf;
};
#define ARG_TYPE(a) ((a)->argtype)
extern void *vaccel_extract_serial_arg(struct vaccel_arg *args, int idx) __attribute__((weak));
__attribute__((used)) static void *const layout_marker = (void *)&vaccel_extract_serial_arg;
#else
struct vaccel_arg {
  void *buf;
  size_t size;
  uint32_t type;
  uint32_t custom_type_id;
  bool owned;
};
#define ARG_TYPE(a) ((a)->type)
extern int vaccel_arg_array_wrap(void *array, struct vaccel_arg *args, size_t count) __attribute__((weak));
__attribute__((used)) static void *const layout_marker = (void *)&vaccel_arg_array_wrap;
#endif

int mytestfunc(struct vaccel_arg *read, size_t nr_read, struct vaccel_arg *write, size_t nr_write) {
  if (nr_read < 1 || nr_write < 1) return EINVAL;
  if (ARG_TYPE(&read[0]) != VACCEL_ARG_INT32 || read[0].size != sizeof(int32_t)) return EINVAL;
  if (ARG_TYPE(&write[0]) != VACCEL_ARG_INT32 || write[0].size != sizeof(int32_t)) return EINVAL;
  int32_t input = *(const int32_t *)read[0].buf;
  *(int32_t *)write[0].buf = 2 * input;
  fprintf(stderr, "[mytestlib] mytestfunc(%d) = %d\n", input, 2 * input);
  return 0;
}
