"""Pairing markets beyond the mentor-and-coach matching of selected participants: sign-up
schemes (mentoring, coaching networks). Each market is read three ways and every reading is
proven: the best total fit, the best worst fit, and the mentee-optimal stable matching."""
