// Peer of filters/hello written with the Go proxy-wasm SDK (Go >= 1.24, GOOS=wasip1, -buildmode=c-shared):
// sets one configured request header and counts requests in a metric, like the AssemblyScript filter.
//
//	pluginConfig: {"header": "x-wasmgate-hello", "value": "hello from wasmgate"}
package main

import (
	"encoding/json"

	"github.com/proxy-wasm/proxy-wasm-go-sdk/proxywasm"
	"github.com/proxy-wasm/proxy-wasm-go-sdk/proxywasm/types"
)

func main() {}

func init() {
	proxywasm.SetPluginContext(func(uint32) types.PluginContext {
		return &plugin{header: "x-wasmgate-hello", value: "hello from wasmgate"}
	})
}

type plugin struct {
	types.DefaultPluginContext
	header   string
	value    string
	requests proxywasm.MetricCounter
}

type config struct {
	Header *string `json:"header"`
	Value  *string `json:"value"`
}

func (p *plugin) OnPluginStart(size int) types.OnPluginStartStatus {
	if size > 0 {
		data, err := proxywasm.GetPluginConfiguration()
		if err != nil {
			proxywasm.LogCriticalf("go-hello: cannot read the configuration: %v", err)
			return types.OnPluginStartStatusFailed
		}
		var c config
		if err := json.Unmarshal(data, &c); err != nil {
			proxywasm.LogCriticalf("go-hello: invalid configuration: %v", err)
			return types.OnPluginStartStatusFailed
		}
		if c.Header != nil {
			if *c.Header == "" {
				proxywasm.LogCritical("go-hello: invalid configuration: header: expected a non-empty string")
				return types.OnPluginStartStatusFailed
			}
			p.header = *c.Header
		}
		if c.Value != nil {
			p.value = *c.Value
		}
	}
	p.requests = proxywasm.DefineCounterMetric("go_hello_requests_total")
	return types.OnPluginStartStatusOK
}

func (p *plugin) NewHttpContext(uint32) types.HttpContext { return &stream{plugin: p} }

type stream struct {
	types.DefaultHttpContext
	plugin *plugin
}

func (s *stream) OnHttpRequestHeaders(int, bool) types.Action {
	if err := proxywasm.ReplaceHttpRequestHeader(s.plugin.header, s.plugin.value); err != nil {
		proxywasm.LogErrorf("go-hello: cannot set %s: %v", s.plugin.header, err)
	}
	s.plugin.requests.Increment(1)
	return types.ActionContinue
}
