package oscmap

// SubscribePoints is Subscribe with, for each change, the point's state
// after it (Point.Value: an encoder's running total or absolute value, an
// input's Held...), read under the same lock, so the pair is consistent.
// The point is zero when the change removed it (a reload). The rules of
// Subscribe hold: fn runs under the bridge's lock, must return quickly,
// never block and not call the Bridge. The OSCQuery server uses it to send
// each listened node's new value.
func (b *Bridge) SubscribePoints(fn func(Change, Point)) (cancel func()) {
	return b.Subscribe(func(c Change) {
		p, _ := b.pointLocked(c.Point)
		fn(c, p)
	})
}

// pointLocked returns the point called name (its Addresses shared, not
// copied). The caller holds b.mu.
func (b *Bridge) pointLocked(name string) (Point, bool) {
	for _, o := range b.outs {
		if o.point.Name == name {
			return o.point, true
		}
	}
	for _, o := range b.pwms {
		if o.point.Name == name {
			return o.point, true
		}
	}
	for _, in := range b.ins {
		if in.point.Name == name {
			return in.point, true
		}
	}
	for _, en := range b.encs {
		if en.point.Name == name {
			return en.point, true
		}
	}
	for _, s := range b.sensors {
		if s.point.Name == name {
			return s.point, true
		}
	}
	return Point{}, false
}
