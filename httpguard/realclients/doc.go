// Package realclients runs httpguard under clients and frameworks that
// watertight did not write — gin, a websocket library, a real
// server-sent-events reader, go-retryablehttp — so that what they expect
// of a http.ResponseWriter and a http.RoundTripper is checked by their own
// code, not by a reading of ours. It is a module of its own, so that none
// of them reaches a service that imports httpguard. It holds tests only.
package realclients
