"""pvesim: a strict Proxmox VE API simulator for pvfio's tests (stdlib only)."""
