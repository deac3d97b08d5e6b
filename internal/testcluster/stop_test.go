package testcluster

import (
	"net"
	"net/url"
	"testing"
)

func TestStopKillsBoth(t *testing.T) {
	c := Start(t)
	u, err := url.Parse(c.URL)
	if err != nil {
		t.Fatal(err)
	}
	c.Stop()
	for _, p := range []*process{c.etcd, c.api} {
		select {
		case <-p.done:
		default:
			t.Errorf("%s still running after Stop", p.name)
		}
	}
	if conn, err := net.Dial("tcp", u.Host); err == nil {
		conn.Close()
		t.Errorf("%s still accepts connections after Stop", u.Host)
	}
}
