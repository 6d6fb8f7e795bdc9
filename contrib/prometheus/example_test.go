package watertightprom_test

import (
	"context"
	"fmt"
	"strings"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/common/expfmt"

	"github.com/watertight-go/watertight/bulkhead"

	watertightprom "github.com/watertight-go/watertight/contrib/prometheus"
)

// Register a Collector with the instances to export; each scrape reads
// their Stats.
func ExampleCollector() {
	payments := bulkhead.MustNew(bulkhead.Config{Name: "payments", MaxConcurrent: 10})
	_ = payments.Do(context.Background(), func(context.Context) error { return nil })

	c := watertightprom.NewCollector()
	if err := c.Add(payments); err != nil {
		fmt.Println(err)
		return
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(c)

	mfs, _ := reg.Gather()
	for _, mf := range mfs {
		if strings.HasPrefix(mf.GetName(), "watertight_bulkhead_") && mf.GetType().String() != "HISTOGRAM" {
			var b strings.Builder
			_, _ = expfmt.MetricFamilyToText(&b, mf)
			for _, line := range strings.Split(b.String(), "\n") {
				if line != "" && !strings.HasPrefix(line, "#") {
					fmt.Println(line)
				}
			}
		}
	}
	// Output:
	// watertight_bulkhead_acquired_total{name="payments"} 1
	// watertight_bulkhead_canceled_total{name="payments"} 0
	// watertight_bulkhead_in_flight_calls{name="payments"} 0
	// watertight_bulkhead_max_concurrent_calls{name="payments"} 10
	// watertight_bulkhead_queue_controlled{name="payments"} 0
	// watertight_bulkhead_rejected_total{name="payments",reason="full"} 0
	// watertight_bulkhead_rejected_total{name="payments",reason="wait_timeout"} 0
	// watertight_bulkhead_shed_total{name="payments"} 0
	// watertight_bulkhead_waiting_calls{name="payments"} 0
}
