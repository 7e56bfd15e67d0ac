# The hello world of benches/serve.sh, for unicorn.
run ->(_env) { [200, { "content-type" => "text/plain" }, ["Hello, world!\n"]] }
