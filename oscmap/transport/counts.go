package transport

import (
	"cmp"
	"net/netip"
	"slices"
	"sync"
)

// maxCounted bounds the senders whose drops are counted one by one; the drops
// of senders beyond it are counted together (SenderCount with an invalid
// Addr), so that a flood from many addresses cannot grow the table.
const maxCounted = 4096

// A SenderCount is how many datagrams from one sender were received, or
// dropped, as the method that returns it says. An
// invalid Addr (netip.Addr{}) stands for the senders not counted one by one,
// once maxCounted (4096) senders are.
type SenderCount struct {
	Addr  netip.Addr
	Count uint64
}

// senderCounts counts datagrams per sender address; safe for concurrent use.
type senderCounts struct {
	mu     sync.Mutex
	total  uint64
	by     map[netip.Addr]uint64
	others uint64
}

func (c *senderCounts) add(a netip.Addr) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.total++
	if c.by == nil {
		c.by = make(map[netip.Addr]uint64)
	}
	if _, ok := c.by[a]; !ok && len(c.by) >= maxCounted {
		c.others++
		return
	}
	c.by[a]++
}

func (c *senderCounts) sum() uint64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.total
}

// top returns the n senders with the most datagrams, most first (ties by
// address), then the uncounted rest as one entry when there is one and room.
func (c *senderCounts) top(n int) []SenderCount {
	c.mu.Lock()
	all := make([]SenderCount, 0, len(c.by)+1)
	for a, k := range c.by {
		all = append(all, SenderCount{a, k})
	}
	others := c.others
	c.mu.Unlock()
	slices.SortFunc(all, func(x, y SenderCount) int {
		if x.Count != y.Count {
			return cmp.Compare(y.Count, x.Count)
		}
		return x.Addr.Compare(y.Addr)
	})
	if others > 0 {
		all = append(all, SenderCount{Count: others})
	}
	if n >= 0 && len(all) > n {
		all = all[:n]
	}
	return all
}
