# Answers REQUESTs with Ruby raindrops' Raindrops::Watcher (Debian ruby-raindrops) watching
# ADDRS, for the side-by-side test in ../watcher_external.rs. One sample: the delay is an hour.
# A REQUEST is `PATH` (a GET), or `METHOD PATH [REFERER]`, all with `Host: test`. Requests that
# wait for the next sample (POST /reset/..., GET /tail/...) get one: the sampler, asleep for the
# delay, is woken until they are answered; so they go last. A tail's body is its first line.
# Usage: ruby watcher.rb ADDR[,ADDR...] REQUEST... ; prints [[status, [[name, value]...], body]...]
require 'rack'
require 'raindrops'
require 'json'
addrs, *requests = ARGV
w = Raindrops::Watcher.new(:listeners => addrs.split(','), :delay => 3600)

# Runs the block while waking the sampler thread every 50 ms.
def sampling(w)
  done = false
  waker = Thread.new do
    until done
      sleep 0.05
      thr = w.instance_variable_get(:@thr)
      thr.wakeup if thr && thr.status == 'sleep'
    end
  end
  yield
ensure
  done = true
  waker.join
end

out = requests.map do |request|
  method, path, referer = request.include?(' ') ? request.split(' ') : ['GET', request]
  env = Rack::MockRequest.env_for(path, :method => method, 'HTTP_HOST' => 'test',
                                  'HTTP_VERSION' => 'HTTP/1.1')
  env['HTTP_REFERER'] = referer if referer
  waits = method == 'POST' || path.start_with?('/tail/')
  s, h, b = waits ? sampling(w) { w.call(env) } : w.call(env)
  body = ''.dup
  if path.start_with?('/tail/')
    sampling(w) { b.each { |x| body << x; break } }
  else
    b.each { |x| body << x }
  end
  [s, h.to_a, body]
end
puts JSON.generate(out)
