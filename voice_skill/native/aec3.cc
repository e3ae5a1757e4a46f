// A C interface to WebRTC's audio processing (webrtc-audio-processing 2.1) whose echo canceller, AEC3,
// is built from a configuration we choose (livekit's binding builds it with the defaults only).
// Built by scripts/build_aec3.sh; used through ctypes by voice_skill/aec3.py.
#include <cstdint>
#include <cstring>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>

#include "api/audio/audio_processing.h"
#include "api/audio/echo_canceller3_config.h"
#include "api/audio/echo_control.h"
#include "modules/audio_processing/aec3/echo_canceller3.h"

namespace {

using Config = webrtc::EchoCanceller3Config;
using Setter = std::function<void(Config&, double)>;

const std::map<std::string, Setter>& setters() {
  static const std::map<std::string, Setter> table = {
      {"suppressor.normal_tuning.mask_lf.enr_transparent", [](Config& c, double v) { c.suppressor.normal_tuning.mask_lf.enr_transparent = v; }},
      {"suppressor.normal_tuning.mask_lf.enr_suppress", [](Config& c, double v) { c.suppressor.normal_tuning.mask_lf.enr_suppress = v; }},
      {"suppressor.normal_tuning.mask_hf.enr_transparent", [](Config& c, double v) { c.suppressor.normal_tuning.mask_hf.enr_transparent = v; }},
      {"suppressor.normal_tuning.mask_hf.enr_suppress", [](Config& c, double v) { c.suppressor.normal_tuning.mask_hf.enr_suppress = v; }},
      {"suppressor.nearend_tuning.mask_lf.enr_transparent", [](Config& c, double v) { c.suppressor.nearend_tuning.mask_lf.enr_transparent = v; }},
      {"suppressor.nearend_tuning.mask_lf.enr_suppress", [](Config& c, double v) { c.suppressor.nearend_tuning.mask_lf.enr_suppress = v; }},
      {"suppressor.nearend_tuning.mask_hf.enr_transparent", [](Config& c, double v) { c.suppressor.nearend_tuning.mask_hf.enr_transparent = v; }},
      {"suppressor.nearend_tuning.mask_hf.enr_suppress", [](Config& c, double v) { c.suppressor.nearend_tuning.mask_hf.enr_suppress = v; }},
      {"suppressor.dominant_nearend_detection.enr_threshold", [](Config& c, double v) { c.suppressor.dominant_nearend_detection.enr_threshold = v; }},
      {"suppressor.dominant_nearend_detection.enr_exit_threshold", [](Config& c, double v) { c.suppressor.dominant_nearend_detection.enr_exit_threshold = v; }},
      {"suppressor.dominant_nearend_detection.snr_threshold", [](Config& c, double v) { c.suppressor.dominant_nearend_detection.snr_threshold = v; }},
      {"suppressor.dominant_nearend_detection.hold_duration", [](Config& c, double v) { c.suppressor.dominant_nearend_detection.hold_duration = static_cast<int>(v); }},
      {"suppressor.dominant_nearend_detection.trigger_threshold", [](Config& c, double v) { c.suppressor.dominant_nearend_detection.trigger_threshold = static_cast<int>(v); }},
      {"suppressor.limit_hf_gains_outside_nearend", [](Config& c, double v) { c.suppressor.limit_hf_gains_outside_nearend = v != 0; }},  // aec3-hf-gains.patch
      {"suppressor.fast_inc_factor", [](Config& c, double v) { c.suppressor.fast_inc_factor = v; }},  // aec3-fast-release.patch
      {"suppressor.fast_inc_max_enr", [](Config& c, double v) { c.suppressor.fast_inc_max_enr = v; }},  // aec3-fast-release.patch
      {"suppressor.floor_first_increase", [](Config& c, double v) { c.suppressor.floor_first_increase = v; }},
  };
  return table;
}

class Factory : public webrtc::EchoControlFactory {
 public:
  explicit Factory(const Config& config) : config_(config) {}
  std::unique_ptr<webrtc::EchoControl> Create(int rate, int render, int capture) override {
    return std::make_unique<webrtc::EchoCanceller3>(config_, std::nullopt, rate, render, capture);
  }

 private:
  Config config_;
};

struct Aec3 {
  rtc::scoped_refptr<webrtc::AudioProcessing> apm;
  webrtc::StreamConfig stream{16000, 1};
};

void say(char* error, int length, const std::string& text) {
  if (error && length > 0) {
    std::strncpy(error, text.c_str(), length - 1);
    error[length - 1] = 0;
  }
}

}  // namespace

extern "C" {

// flags: 1 high-pass filter, 2 noise suppression, 4 gain control (the limiter of gain controller 2).
void* aec3_new(int flags, const char** keys, const double* values, int count, char* error, int error_length) {
  Config config;
  for (int i = 0; i < count; ++i) {
    auto found = setters().find(keys[i]);
    if (found == setters().end()) {
      say(error, error_length, std::string("unknown AEC3 setting: ") + keys[i]);
      return nullptr;
    }
    found->second(config, values[i]);
  }
  if (!Config::Validate(&config)) {
    say(error, error_length, "AEC3 settings out of range");
    return nullptr;
  }
  webrtc::AudioProcessing::Config apm_config;
  apm_config.echo_canceller.enabled = true;
  apm_config.high_pass_filter.enabled = flags & 1;
  apm_config.noise_suppression.enabled = flags & 2;
  apm_config.gain_controller2.enabled = flags & 4;
  auto aec3 = new Aec3;
  aec3->apm = webrtc::AudioProcessingBuilder()
                  .SetConfig(apm_config)
                  .SetEchoControlFactory(std::make_unique<Factory>(config))
                  .Create();
  return aec3;
}

int aec3_reverse(void* handle, const int16_t* frame) {
  auto aec3 = static_cast<Aec3*>(handle);
  int16_t ignored[160];
  return aec3->apm->ProcessReverseStream(frame, aec3->stream, aec3->stream, ignored);
}

int aec3_process(void* handle, int16_t* frame, int delay_ms) {
  auto aec3 = static_cast<Aec3*>(handle);
  aec3->apm->set_stream_delay_ms(delay_ms);
  return aec3->apm->ProcessStream(frame, aec3->stream, aec3->stream, frame);
}

void aec3_free(void* handle) { delete static_cast<Aec3*>(handle); }
}
