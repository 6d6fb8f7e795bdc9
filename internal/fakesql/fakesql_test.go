package fakesql_test

import (
	"database/sql"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/watertight-go/watertight/internal/fakesql"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestConnectionsOpenAndNothingElse(t *testing.T) {
	db := sql.OpenDB(fakesql.Connector{})
	defer db.Close()
	conn, err := db.Conn(t.Context())
	require.NoError(t, err)
	assert.Equal(t, 1, db.Stats().InUse)
	_, err = conn.ExecContext(t.Context(), "SELECT 1")
	assert.Error(t, err)
	require.NoError(t, conn.Close())
}
