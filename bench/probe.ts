// Preload for benchmarked children (`node --import ./bench/probe.ts …`): answers RSS, heap and event-loop delay over IPC.
// Nothing is exposed over HTTP: the channel exists only when the bench started the process with an IPC pipe.
import { monitorEventLoopDelay } from 'node:perf_hooks'

export interface ProbeSample {
  type: 'probe'
  rssBytes: number
  heapUsedBytes: number
  /** V8 heap reserved (young + old generations), used or not. */
  heapTotalBytes: number
  /** Memory outside the V8 heap held by JS objects (Buffers, ArrayBuffers, SQLite is not included). */
  externalBytes: number
  /** Event-loop delay since the previous sample, in milliseconds. */
  eldP50Ms: number
  eldP99Ms: number
  eldMaxMs: number
  cpuUserMs: number
  cpuSystemMs: number
}

// 10 ms sampling resolution: fine enough to see stalls, cheap enough not to change the measurement.
const RESOLUTION_MS = 10

if (typeof process.send === 'function') {
  const histogram = monitorEventLoopDelay({ resolution: RESOLUTION_MS })
  histogram.enable()
  // The channel must not keep an otherwise finished process alive.
  process.channel?.unref()
  process.on('message', (message: { type?: string }) => {
    if (message?.type === 'probe') {
      const cpu = process.cpuUsage()
      const memory = process.memoryUsage()
      const sample: ProbeSample = {
        type: 'probe',
        rssBytes: memory.rss,
        heapUsedBytes: memory.heapUsed,
        heapTotalBytes: memory.heapTotal,
        externalBytes: memory.external,
        eldP50Ms: histogram.percentile(50) / 1e6,
        eldP99Ms: histogram.percentile(99) / 1e6,
        eldMaxMs: histogram.max / 1e6,
        cpuUserMs: cpu.user / 1000,
        cpuSystemMs: cpu.system / 1000
      }
      histogram.reset()
      process.send?.(sample)
    } else if (message?.type === 'exit') {
      // process.exit() still writes a --cpu-prof profile.
      process.exit(0)
    }
  })
  process.on('disconnect', () => process.exit(0))
}
