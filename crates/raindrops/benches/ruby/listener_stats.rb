# Times Ruby raindrops' listener stats, for benches/listener_stats.rs (which keeps the
# connections open while this runs). Usage: ruby listener_stats.rb ADDR [UNIX_PATH]
# Prints "name microseconds_per_call" lines.
require 'raindrops'

# The fastest of 3 rounds, like the Rust side (noise only ever adds time).
def per_call_us(budget = 0.7, &blk)
  (0...3).map { one_round(budget / 3, &blk) }.min
end

def one_round(budget)
  5.times { yield }
  t0 = Process.clock_gettime(Process::CLOCK_MONOTONIC)
  n = 0
  while n < 20 || (Process.clock_gettime(Process::CLOCK_MONOTONIC) - t0) < budget
    yield
    n += 1
  end
  (Process.clock_gettime(Process::CLOCK_MONOTONIC) - t0) / n * 1e6
end

addr, path = ARGV[0], ARGV[1]
budget = (ENV['BENCH_MS'] || 700).to_f / 1000
if path
  printf("unix_listener_stats_us %.1f\n",
         per_call_us(budget) { Raindrops::Linux.unix_listener_stats([path]) })
else
  printf("tcp_listener_stats_us %.1f\n",
         per_call_us(budget) { Raindrops::Linux.tcp_listener_stats([addr]) })
  sock = Raindrops::InetDiagSocket.new
  printf("tcp_listener_stats_sock_us %.1f\n",
         per_call_us(budget) { Raindrops::Linux.tcp_listener_stats([addr], sock) })
end
