package poolwait_test

import (
	"database/sql"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/watertight-go/watertight/internal/fakesql"
	"github.com/watertight-go/watertight/poolwait"
)

func TestDBReportsCheckoutWaitsAndDeltas(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		db := sql.OpenDB(fakesql.Connector{})
		defer db.Close()
		db.SetMaxOpenConns(2)

		sampler, err := poolwait.NewDB(db)
		require.NoError(t, err)

		// Hold both connections; two more checkouts wait for them.
		held := make([]*sql.Conn, 2)
		for i := range held {
			held[i], err = db.Conn(t.Context())
			require.NoError(t, err)
		}
		got := make(chan *sql.Conn, 2)
		for range 2 {
			go func() {
				c, err := db.Conn(t.Context())
				assert.NoError(t, err)
				got <- c
			}()
		}
		synctest.Wait()
		// A second sampler looks at the pool meanwhile, so that the first
		// one's interval covers the whole episode.
		during, err := poolwait.NewDB(db)
		require.NoError(t, err)
		st := during.Stats()
		assert.Equal(t, 2, st.MaxOpen)
		assert.Equal(t, 2, st.InUse)
		assert.Equal(t, 1.0, st.Utilization(), "every connection is checked out")

		<-time.After(300 * time.Millisecond)
		held[0].Close()
		c1 := <-got
		<-time.After(100 * time.Millisecond)
		held[1].Close()
		c2 := <-got

		st = sampler.Stats()
		assert.Equal(t, int64(2), st.NewWaits)
		assert.Equal(t, 700*time.Millisecond, st.NewWaitTotal, "300 ms and 400 ms")
		assert.Equal(t, 350*time.Millisecond, st.MeanWait)
		assert.Equal(t, 400*time.Millisecond, st.Interval)
		assert.Equal(t, int64(2), st.WaitCount)

		// The next interval starts afresh.
		st = sampler.Stats()
		assert.Zero(t, st.NewWaits)
		assert.Zero(t, st.MeanWait)
		assert.Equal(t, int64(2), st.WaitCount, "the cumulative count stays")
		c1.Close()
		c2.Close()
	})
}

func TestNewDBNil(t *testing.T) {
	_, err := poolwait.NewDB(nil)
	assert.EqualError(t, err, "poolwait: NewDB: db is nil")
}

func TestUtilizationUnlimited(t *testing.T) {
	assert.Equal(t, -1.0, poolwait.DBStats{InUse: 3}.Utilization())
}

func TestZeroDBStatsAreZero(t *testing.T) {
	var d poolwait.DB
	assert.Equal(t, poolwait.DBStats{}, d.Stats())
}
