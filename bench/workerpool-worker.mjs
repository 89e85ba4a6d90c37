// workerpool's process worker for the comparison: calls the same add() through koffi. The
// library path is the worker's first argument (workerpool's forkArgs).
import koffi from 'koffi';
import workerpool from 'workerpool';

const add = koffi.load(process.argv[2]).func('int add(int a, int b)');
workerpool.worker({ add: (a, b) => add(a, b) });
