package protocol

import (
	"sync"
	"time"
)

// Handle decodes a JSON request body into In and runs f with mu held,
// passing the time read from now once the lock is taken. It is the common
// shape of a JSON service operation that reads or changes state under one
// lock.
func Handle[In any](body []byte, mu sync.Locker, now func() time.Time, f func(now time.Time, in *In) (any, error)) (any, error) {
	var in In
	if err := DecodeJSON(body, &in); err != nil {
		return nil, err
	}
	mu.Lock()
	defer mu.Unlock()
	return f(now(), &in)
}
