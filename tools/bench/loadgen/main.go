// loadgen: a small open-loop (fixed-rate) HTTP/1.1 load generator for the benchmark, because wrk2 is not
// packaged in Debian and h2load's --rate is a connection rate, not a request rate.
//
// Requests are released on a fixed schedule (rate per second) independently of the responses. Each of
// -c keep-alive connections takes the next released request when it is free; latency is measured from
// the moment the request was released to the end of its response, so a slow response also counts
// against the requests queued behind it (no coordinated omission). Go's timers wake with about 1 ms
// granularity, so requests are released in small bursts that keep the average rate exact; latency starts
// at the release, not at the ideal schedule, so a late wake-up of the generator itself is not charged to
// the server. Bounded by -d and by -n (whichever comes first); prints one JSON object on stdout.
//
//	loadgen -url http://127.0.0.1:10000/get -rate 5000 -d 5s -c 16 -H 'user-agent: wasmgate-bench'
package main

import (
	"bufio"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"sort"
	"strings"
	"sync"
	"time"
)

type headerList []string

func (h *headerList) String() string     { return strings.Join(*h, ", ") }
func (h *headerList) Set(v string) error { *h = append(*h, v); return nil }

type result struct {
	Rate         float64 `json:"rate"`
	DurationS    float64 `json:"durationS"`
	Scheduled    int     `json:"scheduled"`
	Completed    int     `json:"completed"`
	Errors       int     `json:"errors"`
	Non2xx       int     `json:"non2xx"`
	Unsent       int     `json:"unsent"`
	AchievedRate float64 `json:"achievedRate"`
	P50Us        float64 `json:"p50Us"`
	P90Us        float64 `json:"p90Us"`
	P99Us        float64 `json:"p99Us"`
	P999Us       float64 `json:"p999Us"`
	MaxUs        float64 `json:"maxUs"`
	MeanUs       float64 `json:"meanUs"`
	FirstError   string  `json:"firstError,omitempty"`
	ServiceP50Us float64 `json:"serviceP50Us"`
	ServiceP99Us float64 `json:"serviceP99Us"`
	Connections  int     `json:"connections"`
	MaxQueueUs   float64 `json:"maxQueueUs"`
}

type sample struct {
	latency time.Duration // released -> response end
	service time.Duration // sent -> response end
	late    time.Duration // released -> sent (waiting for a free connection)
	status  int
	err     error
}

func percentile(sorted []float64, p float64) float64 {
	if len(sorted) == 0 {
		return 0
	}
	// nearest rank
	rank := int(p/100*float64(len(sorted))+0.999999999) - 1
	if rank < 0 {
		rank = 0
	}
	if rank >= len(sorted) {
		rank = len(sorted) - 1
	}
	return sorted[rank]
}

func main() {
	target := flag.String("url", "", "target URL (http://127.0.0.1:port/path); loopback only")
	rate := flag.Float64("rate", 1000, "requests per second")
	dur := flag.Duration("d", 5*time.Second, "duration")
	maxN := flag.Int("n", 10_000_000, "upper bound on the number of requests")
	conns := flag.Int("c", 16, "keep-alive connections")
	timeout := flag.Duration("timeout", 5*time.Second, "per-request timeout")
	var headers headerList
	flag.Var(&headers, "H", "request header 'name: value' (repeatable)")
	flag.Parse()

	u, err := url.Parse(*target)
	if err != nil || u.Scheme != "http" {
		fmt.Fprintf(os.Stderr, "loadgen: -url must be an http:// URL, got %q\n", *target)
		os.Exit(2)
	}
	ip := net.ParseIP(u.Hostname())
	if ip == nil || !ip.IsLoopback() {
		fmt.Fprintf(os.Stderr, "loadgen: refusing non-loopback target %q\n", u.Host)
		os.Exit(2)
	}
	if *rate <= 0 || *conns <= 0 || *dur <= 0 || *dur > 10*time.Minute {
		fmt.Fprintln(os.Stderr, "loadgen: need rate > 0, c > 0 and 0 < d <= 10m")
		os.Exit(2)
	}
	path := u.RequestURI()
	var req strings.Builder
	fmt.Fprintf(&req, "GET %s HTTP/1.1\r\nHost: %s\r\n", path, u.Host)
	for _, h := range headers {
		fmt.Fprintf(&req, "%s\r\n", h)
	}
	req.WriteString("\r\n")
	raw := []byte(req.String())

	interval := time.Duration(float64(time.Second) / *rate)
	total := int(dur.Seconds() * *rate)
	if total > *maxN {
		total = *maxN
	}
	queue := make(chan time.Time, total)
	samples := make(chan sample, total)

	var wg sync.WaitGroup
	var connMu sync.Mutex
	opened := 0
	for i := 0; i < *conns; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var c net.Conn
			var br *bufio.Reader
			for released := range queue {
				if c == nil {
					var err error
					c, err = net.DialTimeout("tcp", u.Host, *timeout)
					if err != nil {
						samples <- sample{err: err}
						continue
					}
					connMu.Lock()
					opened++
					connMu.Unlock()
					br = bufio.NewReaderSize(c, 64<<10)
				}
				sent := time.Now()
				_ = c.SetDeadline(sent.Add(*timeout))
				_, err := c.Write(raw)
				var res *http.Response
				if err == nil {
					res, err = http.ReadResponse(br, nil)
				}
				if err == nil {
					_, err = io.Copy(io.Discard, res.Body)
					res.Body.Close()
				}
				end := time.Now()
				if err != nil {
					samples <- sample{err: err}
					c.Close()
					c = nil
					continue
				}
				samples <- sample{latency: end.Sub(released), service: end.Sub(sent), late: sent.Sub(released), status: res.StatusCode}
				if res.Close {
					c.Close()
					c = nil
				}
			}
			if c != nil {
				c.Close()
			}
		}()
	}

	start := time.Now()
	deadline := start.Add(*dur)
	scheduled := 0
	for i := 0; i < total; i++ {
		at := start.Add(time.Duration(i) * interval)
		if at.After(deadline) {
			break
		}
		if d := time.Until(at); d > 0 {
			time.Sleep(d)
		}
		queue <- time.Now()
		scheduled++
	}
	close(queue)
	// Requests still queued after the run keep their scheduled time; bound the drain.
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(*timeout + 2*time.Second):
	}
	elapsed := time.Since(start)

	res := result{Rate: *rate, DurationS: elapsed.Seconds(), Scheduled: scheduled, Connections: opened}
	var lat, svc []float64
	var sum float64
	n := len(samples)
	for i := 0; i < n; i++ {
		s := <-samples
		if s.err != nil {
			res.Errors++
			if res.FirstError == "" {
				res.FirstError = s.err.Error()
			}
			continue
		}
		if s.status < 200 || s.status > 299 {
			res.Non2xx++
		}
		res.Completed++
		us := float64(s.latency.Nanoseconds()) / 1000
		lat = append(lat, us)
		svc = append(svc, float64(s.service.Nanoseconds())/1000)
		sum += us
		if l := float64(s.late.Nanoseconds()) / 1000; l > res.MaxQueueUs {
			res.MaxQueueUs = l
		}
	}
	res.Unsent = scheduled - res.Completed - res.Errors
	sort.Float64s(lat)
	sort.Float64s(svc)
	if len(lat) > 0 {
		res.P50Us = percentile(lat, 50)
		res.P90Us = percentile(lat, 90)
		res.P99Us = percentile(lat, 99)
		res.P999Us = percentile(lat, 99.9)
		res.MaxUs = lat[len(lat)-1]
		res.MeanUs = sum / float64(len(lat))
		res.ServiceP50Us = percentile(svc, 50)
		res.ServiceP99Us = percentile(svc, 99)
	}
	res.AchievedRate = float64(res.Completed) / elapsed.Seconds()
	out, _ := json.Marshal(res)
	fmt.Println(string(out))
}
