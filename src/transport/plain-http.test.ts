import {expect, test} from 'bun:test'
import {isLoopbackHost, mayFollow, plainHttpFor, rebased} from './plain-http.ts'

test('isLoopbackHost', () => {
  expect(['localhost', 'localhost:80', '127.0.0.1', '127.1.2.3:9', '[::1]:5000'].map(isLoopbackHost)).toEqual([true, true, true, true, true])
  expect(['10.0.0.1', '128.0.0.1', 'localhost.example.com', '[::2]:1'].map(isLoopbackHost)).toEqual([false, false, false, false])
})

test('plainHttpFor: loopback always, named hosts (with or without port) as insecure, others refused', () => {
  const insecure = ['registry.lan', 'other.lan:5000']
  const hosts = ['127.0.0.1:5000', 'registry.lan:443', 'REGISTRY.lan', 'other.lan:5000', 'other.lan:5001', 'quay.io']
  expect(hosts.map((h) => plainHttpFor(h, insecure))).toEqual(['loopback', 'insecure', 'insecure', 'insecure', 'refused', 'refused'])
})

test('rebased: URLs on the endpoint origin follow it to plain HTTP; other origins are left alone', () => {
  const from = 'https://127.0.0.1:5000'
  expect(rebased('https://127.0.0.1:5000/v2/a/blobs/uploads/x?_state=s', from, 'http://127.0.0.1:5000')).toBe(
    'http://127.0.0.1:5000/v2/a/blobs/uploads/x?_state=s',
  )
  expect(rebased('https://storage.example/blob', from, 'http://127.0.0.1:5000')).toBe('https://storage.example/blob')
  expect(rebased('https://127.0.0.1:5000/v2/', from, from)).toBe('https://127.0.0.1:5000/v2/')
})

test('mayFollow: https anywhere, http where plain HTTP is allowed, no other scheme', () => {
  const urls = [
    'https://storage.example/u',
    'http://127.0.0.1:5000/u',
    'http://registry.lan/u',
    'http://storage.example/u',
    'file:///etc/passwd',
    'ftp://storage.example/u',
    'data:,x',
  ]
  expect(urls.map((u) => mayFollow(new URL(u), ['registry.lan']))).toEqual([true, true, true, false, false, false, false])
})
