// A setup file (vitest.config.ts `setupFiles`): a test that fails with an AirlockError gets the
// error's classification first in its message (`CRASHED SIGSEGV: The worker crashed …`) and the
// plugin's last lines after it, so that the report says what the library did.
import { beforeEach } from 'vitest';

beforeEach(({ onTestFailed }) => {
  onTestFailed(({ task }) => {
    for (const error of task.result?.errors ?? []) {
      const fields = error as { name?: string; message?: string; stack?: string; code?: string; signal?: string; limit?: string; exitCode?: number; output?: string[] };
      if (fields.name !== 'AirlockError' || fields.code === undefined) continue;
      const how = [fields.code, fields.signal, fields.limit, fields.exitCode !== undefined ? `exit ${fields.exitCode}` : undefined].filter(Boolean).join(' ');
      const output = fields.output && fields.output.length > 0 ? `\nplugin output (last lines):\n${fields.output.map((line) => `  ${line}`).join('\n')}` : '';
      const message = `${how}: ${fields.message}${output}`;
      // Reporters print the message, or the stack that starts with it (the JSON reporter).
      if (fields.stack !== undefined && fields.message !== undefined) fields.stack = fields.stack.replace(fields.message, message);
      fields.message = message;
    }
  });
});
