# Ruby raindrops' Raindrops#incr, timed like crates/raindrops/benches/incr.rs (median of 7).
require 'raindrops'
OPS = 2_000_000
rd = Raindrops.new(1)
runs = Array.new(7) do
  t = Process.clock_gettime(Process::CLOCK_MONOTONIC)
  i = 0
  while i < OPS
    rd.incr(0)
    i += 1
  end
  (Process.clock_gettime(Process::CLOCK_MONOTONIC) - t) * 1e9 / OPS
end
printf("  Ruby raindrops Raindrops#incr, 1 process     %6.2f\n", runs.sort[3])
