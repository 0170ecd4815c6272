// A shared-data rate limiter written with the Go proxy-wasm SDK, the peer of filters/ratelimit in the
// benchmark: one token bucket for the whole Envoy process, kept in shared data as
// (tokens, last refill in ns) and updated with compare-and-swap so every worker VM enforces one limit.
// A request that finds the bucket empty gets a 429 local reply.
//
//	pluginConfig: {"limit": 100, "periodMs": 1000, "burst": 100, "maxRetries": 8}
package main

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"time"

	"github.com/proxy-wasm/proxy-wasm-go-sdk/proxywasm"
	"github.com/proxy-wasm/proxy-wasm-go-sdk/proxywasm/types"
)

const bucketKey = "go_ratelimit/bucket"

func main() {}

func init() {
	proxywasm.SetPluginContext(func(uint32) types.PluginContext {
		return &plugin{limit: 100, periodNs: int64(time.Second), burst: 100, maxRetries: 8}
	})
}

type plugin struct {
	types.DefaultPluginContext
	limit      int64
	periodNs   int64
	burst      int64
	maxRetries int
	allowed    proxywasm.MetricCounter
	limited    proxywasm.MetricCounter
}

type config struct {
	Limit      *int64 `json:"limit"`
	PeriodMs   *int64 `json:"periodMs"`
	Burst      *int64 `json:"burst"`
	MaxRetries *int   `json:"maxRetries"`
}

func (p *plugin) OnPluginStart(size int) types.OnPluginStartStatus {
	if size > 0 {
		data, err := proxywasm.GetPluginConfiguration()
		if err != nil {
			proxywasm.LogCriticalf("go-ratelimit: cannot read the configuration: %v", err)
			return types.OnPluginStartStatusFailed
		}
		var c config
		if err := json.Unmarshal(data, &c); err != nil {
			proxywasm.LogCriticalf("go-ratelimit: invalid configuration: %v", err)
			return types.OnPluginStartStatusFailed
		}
		ok := true
		positive := func(field string, v *int64, dst *int64) {
			if v == nil {
				return
			}
			if *v <= 0 {
				proxywasm.LogCriticalf("go-ratelimit: invalid configuration: %s: expected a positive integer, got %d", field, *v)
				ok = false
				return
			}
			*dst = *v
		}
		positive("limit", c.Limit, &p.limit)
		var periodMs int64 = p.periodNs / int64(time.Millisecond)
		positive("periodMs", c.PeriodMs, &periodMs)
		p.periodNs = periodMs * int64(time.Millisecond)
		p.burst = p.limit
		positive("burst", c.Burst, &p.burst)
		if c.MaxRetries != nil {
			if *c.MaxRetries < 0 {
				proxywasm.LogCriticalf("go-ratelimit: invalid configuration: maxRetries: expected >= 0, got %d", *c.MaxRetries)
				ok = false
			} else {
				p.maxRetries = *c.MaxRetries
			}
		}
		if !ok {
			return types.OnPluginStartStatusFailed
		}
	}
	p.allowed = proxywasm.DefineCounterMetric("go_ratelimit_allowed")
	p.limited = proxywasm.DefineCounterMetric("go_ratelimit_limited")
	return types.OnPluginStartStatusOK
}

func (p *plugin) NewHttpContext(uint32) types.HttpContext { return &stream{plugin: p} }

type stream struct {
	types.DefaultHttpContext
	plugin *plugin
}

// take removes one token from the shared bucket; false when the bucket is empty. After maxRetries CAS
// conflicts the request is allowed (fail open), like filters/ratelimit's default.
func (p *plugin) take() bool {
	for attempt := 0; attempt <= p.maxRetries; attempt++ {
		now := time.Now().UnixNano()
		data, cas, err := proxywasm.GetSharedData(bucketKey)
		tokens, last := p.burst, now
		if err == nil && len(data) == 16 {
			tokens = int64(binary.LittleEndian.Uint64(data[0:8]))
			last = int64(binary.LittleEndian.Uint64(data[8:16]))
			if elapsed := now - last; elapsed > 0 {
				// Refill: limit tokens per period, whole tokens only; keep the remainder in `last`.
				interval := max(p.periodNs/p.limit, 1)
				add := elapsed / interval
				if add > 0 {
					tokens += add
					last += add * interval
					if tokens >= p.burst {
						tokens, last = p.burst, now
					}
				}
			}
		} else if err != nil && !errors.Is(err, types.ErrorStatusNotFound) {
			proxywasm.LogErrorf("go-ratelimit: get shared data: %v", err)
			return true
		}
		if tokens <= 0 {
			return false
		}
		var buf [16]byte
		binary.LittleEndian.PutUint64(buf[0:8], uint64(tokens-1))
		binary.LittleEndian.PutUint64(buf[8:16], uint64(last))
		err = proxywasm.SetSharedData(bucketKey, buf[:], cas)
		if err == nil {
			return true
		}
		if !errors.Is(err, types.ErrorStatusCasMismatch) {
			proxywasm.LogErrorf("go-ratelimit: set shared data: %v", err)
			return true
		}
	}
	return true
}

func (s *stream) OnHttpRequestHeaders(int, bool) types.Action {
	if s.plugin.take() {
		s.plugin.allowed.Increment(1)
		return types.ActionContinue
	}
	s.plugin.limited.Increment(1)
	if err := proxywasm.SendHttpResponse(429, [][2]string{{"content-type", "text/plain"}}, []byte("rate limit exceeded\n"), -1); err != nil {
		proxywasm.LogErrorf("go-ratelimit: send 429: %v", err)
	}
	return types.ActionPause
}
