package watertightredis_test

import (
	"fmt"

	"github.com/redis/go-redis/v9"

	watertightredis "github.com/watertight-go/watertight/contrib/redis"
)

// Instrument a client once, where it is made; hand the Pool to the
// metric adapters and the dashboard.
func ExampleInstrument() {
	rdb := redis.NewClient(&redis.Options{Addr: "cache.internal:6379", PoolSize: 20})
	defer rdb.Close()
	cache, err := watertightredis.Instrument(rdb, watertightredis.Config{Name: "cache"})
	if err != nil {
		panic(err)
	}
	// collector.Add(cache); dash.Add(cache)
	ps := cache.PoolStats()
	fmt.Printf("%s pool %q: %d in use of %d; waits measured one by one: %v\n", ps.Kind, cache.PoolName(), ps.InUse, ps.Max, ps.WaitMeasured)
	// Output: redis pool "cache": 0 in use of 20; waits measured one by one: false
}
