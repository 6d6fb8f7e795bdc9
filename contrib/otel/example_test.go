package watertightotel_test

import (
	"context"
	"fmt"

	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"

	"github.com/watertight-go/watertight/bulkhead"

	watertightotel "github.com/watertight-go/watertight/contrib/otel"
)

// Register the instances with a MeterProvider; each collection reads
// their Stats.
func ExampleRegister() {
	payments := bulkhead.MustNew(bulkhead.Config{Name: "payments", MaxConcurrent: 10})
	_ = payments.Do(context.Background(), func(context.Context) error { return nil })

	reader := sdkmetric.NewManualReader()
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	defer mp.Shutdown(context.Background())
	a, err := watertightotel.Register(mp, payments)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer a.Unregister()

	var rm metricdata.ResourceMetrics
	_ = reader.Collect(context.Background(), &rm)
	for _, m := range rm.ScopeMetrics[0].Metrics {
		if m.Name == "watertight.bulkhead.acquired" {
			p := m.Data.(metricdata.Sum[int64]).DataPoints[0]
			name, _ := p.Attributes.Value("name")
			fmt.Println(m.Name, name.AsString(), p.Value)
		}
	}
	// Output:
	// watertight.bulkhead.acquired payments 1
}
