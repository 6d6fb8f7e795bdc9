module github.com/watertight-go/watertight/benchmarks

go 1.26.0

replace github.com/watertight-go/watertight => ../

replace github.com/watertight-go/watertight/contrib/grpc => ../contrib/grpc

require (
	github.com/alitto/pond/v2 v2.7.1
	github.com/cenkalti/backoff/v4 v4.3.0
	github.com/eapache/go-resiliency v1.7.0
	github.com/failsafe-go/failsafe-go v0.9.8
	github.com/panjf2000/ants/v2 v2.12.1
	github.com/sony/gobreaker/v2 v2.4.0
	github.com/stretchr/testify v1.12.0
	github.com/watertight-go/watertight v0.0.0-00010101000000-000000000000
	github.com/watertight-go/watertight/contrib/grpc v0.0.0-00010101000000-000000000000
	go.uber.org/goleak v1.3.0
	golang.org/x/sync v0.23.0
	google.golang.org/grpc v1.85.0
)

require (
	github.com/bits-and-blooms/bitset v1.24.4 // indirect
	github.com/influxdata/tdigest v0.0.1 // indirect
	golang.org/x/net v0.60.0 // indirect
	golang.org/x/sys v0.48.0 // indirect
	golang.org/x/text v0.42.0 // indirect
	google.golang.org/genproto/googleapis/rpc v0.0.0-20260817212433-ac3dfec99bb1 // indirect
	google.golang.org/protobuf v1.36.12 // indirect
	gopkg.in/yaml.v3 v3.0.1 // indirect
)
