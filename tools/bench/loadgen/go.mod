module wasmgate/tools/bench/loadgen

go 1.24
