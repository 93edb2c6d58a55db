// A background thread that runs one function again and again: the function returns how long to
// sleep before its next run, Wake() ends that sleep early, and Stop() wakes it and ends the
// loop. The home of the loop the cluster-wide duties share (escalation timers, leak scans) and
// the SQLite store's background checkpoints.
#pragma once

#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <string>
#include <thread>

#include "core/clock.h"
#include "core/thread_name.h"

namespace handoff {

// Thread-safe. Stop() (or destruction) waits for a run in progress.
class PeriodicThread {
 public:
  // `run` returns the sleep before the next run (0 = run again at once). `name` names the
  // thread for the OS (core/thread_name.h).
  PeriodicThread(std::string name, std::function<Micros()> run)
      : name_(std::move(name)), run_(std::move(run)) {}
  ~PeriodicThread() { Stop(); }
  PeriodicThread(const PeriodicThread&) = delete;
  PeriodicThread& operator=(const PeriodicThread&) = delete;

  void Start() {
    std::lock_guard<std::mutex> lock(mu_);
    if (thread_.joinable()) return;
    stopping_ = false;
    thread_ = std::thread([this] { Loop(); });
  }

  // Starts the next run now if the thread sleeps, or right after the run in progress.
  void Wake() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      woken_ = true;
    }
    cv_.notify_all();
  }

  // Idempotent.
  void Stop() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      stopping_ = true;
    }
    cv_.notify_all();
    if (thread_.joinable()) thread_.join();
  }

 private:
  void Loop() {
    NameThisThread(name_);
    while (true) {
      {
        std::lock_guard<std::mutex> lock(mu_);
        if (stopping_) return;
      }
      const Micros wait = run_();
      std::unique_lock<std::mutex> lock(mu_);
      cv_.wait_for(lock, std::chrono::microseconds(wait), [this] { return stopping_ || woken_; });
      woken_ = false;
    }
  }

  const std::string name_;
  const std::function<Micros()> run_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;
  bool woken_ = false;
  std::thread thread_;
};

}  // namespace handoff
