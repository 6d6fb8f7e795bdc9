module github.com/watertight-go/watertight/examples

go 1.25.0

require (
	github.com/stretchr/testify v1.12.0
	github.com/watertight-go/watertight v0.0.0
	go.uber.org/goleak v1.3.0
)

require gopkg.in/yaml.v3 v3.0.1 // indirect

replace github.com/watertight-go/watertight => ../
