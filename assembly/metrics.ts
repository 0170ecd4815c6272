// Metrics through `proxy_define_metric`/`proxy_increment_metric`/`proxy_record_metric`/`proxy_get_metric`.
//
// Envoy stores each metric as `wasmcustom.<name>`, and Envoy 1.39's admin /stats shows it with that prefix
// (`wasmcustom.hello_requests_total: 1`). Metrics are process-wide: every worker VM that defines the same
// name shares it.
// Definition is lazy (on first use) because host calls other than logging are refused during
// `_initialize`, where module-level `const requests = new Counter("...")` runs.

import { MetricType } from "./abi/enums";
import * as host from "./hostcalls";

class Metric {
  private id: u32 = 0;
  constructor(
    public readonly name: string,
    private readonly kind: MetricType,
  ) {}

  protected metricId(): u32 {
    if (this.id == 0) this.id = host.defineMetric(this.kind, this.name);
    return this.id;
  }
}

/** A monotonically increasing count. */
export class Counter extends Metric {
  constructor(name: string) {
    super(name, MetricType.Counter);
  }
  /** Adds `delta` (must be > 0; Envoy refuses 0 and negatives, which are ignored here). */
  increment(delta: u64 = 1): void {
    if (delta > 0) host.incrementMetric(this.metricId(), <i64>delta);
  }
  /** The current process-wide value. */
  value(): u64 {
    return host.getMetric(this.metricId());
  }
}

/** A value that goes up and down. */
export class Gauge extends Metric {
  constructor(name: string) {
    super(name, MetricType.Gauge);
  }
  /** Adds a (possibly negative) delta. */
  add(delta: i64): void {
    host.incrementMetric(this.metricId(), delta);
  }
  /** Sets the value. */
  set(value: u64): void {
    host.recordMetric(this.metricId(), value);
  }
  value(): u64 {
    return host.getMetric(this.metricId());
  }
}

/** A distribution of samples (Envoy histogram: quantiles in /stats). */
export class Histogram extends Metric {
  constructor(name: string) {
    super(name, MetricType.Histogram);
  }
  record(sample: u64): void {
    host.recordMetric(this.metricId(), sample);
  }
}
