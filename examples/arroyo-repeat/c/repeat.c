// The Arroyo plugin tutorial's `repeat(String s, Int n) -> String` in C: returns s repeated n
// times. The ABI is the tutorial's, byte for byte; strings the plugin returns (the result and
// error messages) come from malloc because the host frees them with free().
//
//   cc -shared -fPIC -O2 -o librepeat.so repeat.c
//   plugin-run call ./librepeat.so repeat cool 3        # coolcoolcool
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef enum { Bool, Int, UInt, Double, String } PluginType;

typedef struct {
  PluginType tag;
  union {
    bool b;
    int64_t i;
    uint64_t u;
    double d;
    const char *s;
  };
} PluginValue;

typedef struct {
  int tag; /* 0 Ok, 1 Err */
  union {
    PluginValue ok;
    char *err;
  };
} PluginResult;

typedef struct {
  const char *name;
  const PluginType *arg_types;
  size_t arg_types_len;
  PluginType return_type;
} PluginMetadata;

static const PluginType ARG_TYPES[] = {String, Int};

PluginMetadata plugin_metadata(void) {
  PluginMetadata metadata = {
      .name = "repeat",
      .arg_types = ARG_TYPES,
      .arg_types_len = sizeof ARG_TYPES / sizeof ARG_TYPES[0],
      .return_type = String,
  };
  return metadata;
}

static PluginResult err(const char *message) {
  PluginResult result = {.tag = 1};
  size_t n = strlen(message) + 1;
  result.err = malloc(n);
  if (result.err != NULL) memcpy(result.err, message, n);
  return result;
}

PluginResult plugin_entrypoint(const PluginValue *args, size_t args_len) {
  if (args_len != 2 || args[0].tag != String || args[1].tag != Int) return err("repeat takes (String, Int)");
  const char *s = args[0].s;
  int64_t n = args[1].i;
  if (n < 0) return err("repeat: the count must not be negative");
  size_t len = strlen(s);
  if (len != 0 && (uint64_t)n > (SIZE_MAX - 1) / len) return err("repeat: the result would be too large");
  size_t total = len * (size_t)n;
  char *out = malloc(total + 1);
  if (out == NULL) return err("repeat: out of memory");
  for (int64_t k = 0; k < n; k++) memcpy(out + (size_t)k * len, s, len);
  out[total] = '\0';
  PluginResult result = {.tag = 0};
  result.ok.tag = String;
  result.ok.s = out;
  return result;
}
