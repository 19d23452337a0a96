package oscmap

import (
	"fmt"
	"net/netip"

	"github.com/oscgpio/oscgpio/config"
	"github.com/oscgpio/oscgpio/oscmap/transport"
)

// Guard returns the mapping's allow list and rate limits as the OSC socket
// applies them, so that the other ways in (the dashboard's controls, the
// OSCQuery WebSocket) let a sender drive the bridge exactly as much as its
// UDP could: allow is nil without an allow: list, limit nil without any
// rate_limit. Each call makes new token buckets.
func Guard(cfg *config.Config) (allow *transport.Allow, limit *transport.Limiter, err error) {
	var per []transport.PrefixRateLimit
	var prefixes []netip.Prefix
	for _, e := range cfg.Allow {
		prefixes = append(prefixes, e.Net)
		if e.RateLimit != nil {
			per = append(per, transport.PrefixRateLimit{Prefix: e.Net, RateLimit: transport.RateLimit{Rate: e.RateLimit.Rate, Burst: e.RateLimit.Burst}})
		}
	}
	if cfg.RateLimit != nil || len(per) > 0 {
		var def transport.RateLimit
		if cfg.RateLimit != nil {
			def = transport.RateLimit{Rate: cfg.RateLimit.Rate, Burst: cfg.RateLimit.Burst}
		}
		limit = transport.NewLimiter(def, per, nil)
	}
	if len(prefixes) > 0 {
		if allow, err = transport.NewAllow(prefixes...); err != nil {
			return nil, nil, fmt.Errorf("allow: %w", err)
		}
	}
	return allow, limit, nil
}
