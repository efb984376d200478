/**
 * Node (V8) flags the server is meant to run with: `make run`, the benchmarks and the peer
 * adapters start it with these, and README's "Running it" says so.
 *
 * `--initial-old-space-size=128`: the server's JS heap is small (about 15 MB: messages and
 * payloads live off it, in typed columns and slabs), while its young generation is as large
 * as Node's default (two 16 MB semi-spaces). After each full collection V8 sets the old
 * generation's limit only about 24 MB above its size, which is less than the young
 * generation, so it starts the next incremental mark at once: a full collection every
 * 100-260 ms under load, each 2-10 ms of pause plus as much again in marking steps
 * (`--trace-incremental-marking`). Starting the old generation's limit at 128 MB stops that
 * cycle: one full collection in a 200,000-message enqueue and drain against 15-22. The cost is
 * at most that much old-generation garbage before a collection, on a heap that promotes little.
 * It cannot be set from inside the process (v8.setFlagsFromString comes after the heap is
 * configured) nor through NODE_OPTIONS, so it goes on node's command line.
 */
export const SERVER_NODE_FLAGS: readonly string[] = ['--initial-old-space-size=128'];

/** SERVER_NODE_FLAGS, then the extra flags in `extra` (space-separated: env CORAMQ_NODE_ARGS for the benchmarks). */
export function serverNodeArgs(extra = process.env.CORAMQ_NODE_ARGS ?? ''): string[] {
  return [...SERVER_NODE_FLAGS, ...extra.split(' ').filter(Boolean)];
}
