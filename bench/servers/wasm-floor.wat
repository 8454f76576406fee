;; The least a room written for Wasm does with each websocket message, for the benchmark's floor
;; (bench/servers/workerd-js-floor.js): the frame comes in through one call with the socket and
;; the message, is copied into the module's memory with the platform's `TextEncoder.encodeInto`
;; (the import), and, with `read`, each byte is looked at once, sixteen at a time, for the quotes
;; and backslashes any JSON check has to find. Nothing is decided: the plain-JS object handles the
;; message afterwards as always. Assembled with binaryen's wasm-as (bench/lib/servers.mjs).
(module
  (import "floor" "copyIn" (func $copy_in (param externref i32 i32) (result i32)))
  (memory (export "memory") 2)
  (func (export "frame") (param $ws externref) (param $message externref) (param $read i32) (result i32)
    (local $n i32) (local $i i32) (local $seen v128)
    ;; The frame's UTF-8 at offset 1024, at most 64,000 bytes (the benchmark's frames are < 7 KB).
    (local.set $n (call $copy_in (local.get $message) (i32.const 1024) (i32.const 64000)))
    (if (local.get $read)
      (then
        (block $done
          (loop $next
            (br_if $done (i32.ge_u (local.get $i) (local.get $n)))
            (local.set $seen
              (v128.or (local.get $seen)
                (v128.or
                  (i8x16.eq (v128.load offset=1024 (local.get $i)) (i8x16.splat (i32.const 34)))
                  (i8x16.eq (v128.load offset=1024 (local.get $i)) (i8x16.splat (i32.const 92))))))
            (local.set $i (i32.add (local.get $i) (i32.const 16)))
            (br $next)))))
    (i32.add (local.get $n) (i8x16.bitmask (local.get $seen)))))
