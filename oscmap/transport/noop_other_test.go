//go:build !linux

package transport

// withUserspaceAllowIfAny does nothing: Allow is in userspace anyway.
func withUserspaceAllowIfAny() Option { return func(*Options) {} }
