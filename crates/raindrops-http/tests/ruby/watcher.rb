# Answers PATHs with Ruby raindrops' Raindrops::Watcher (Debian ruby-raindrops) watching ADDRS,
# for the side-by-side test in ../watcher_external.rs. One sample: the delay is an hour.
# Usage: ruby watcher.rb ADDR[,ADDR...] PATH... ; prints [[status, [[name, value]...], body]...]
require 'rack'
require 'raindrops'
require 'json'
addrs, *paths = ARGV
w = Raindrops::Watcher.new(:listeners => addrs.split(','), :delay => 3600)
out = paths.map do |path|
  s, h, b = w.call(Rack::MockRequest.env_for(path))
  body = ''.dup; b.each { |x| body << x }
  [s, h.to_a, body]
end
puts JSON.generate(out)
